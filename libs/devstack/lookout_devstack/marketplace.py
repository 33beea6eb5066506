"""The sample product database: the massage-booking marketplace Lookout watches and backs up.

Realistic on purpose: NULLs, unicode, JSON/JSONB, timestamptz, numeric, arrays
and bytea, foreign keys and `updated_at` columns (for incremental backups).
"""

from __future__ import annotations

import asyncpg

SCHEMA = """
CREATE TABLE IF NOT EXISTS places (
    id          bigserial PRIMARY KEY,
    city        text NOT NULL,
    country     char(2) NOT NULL,
    name        text NOT NULL,
    location    point,
    opening     jsonb,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS therapists (
    id            bigserial PRIMARY KEY,
    display_name  text NOT NULL,
    bio           text,
    specialties   text[] NOT NULL DEFAULT '{}',
    hourly_rate   numeric(10, 2) NOT NULL,
    currency      char(3) NOT NULL DEFAULT 'EUR',
    rating        real,
    place_id      bigint REFERENCES places (id),
    photo         bytea,
    profile       json,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    full_name   text,
    locale      text,
    preferences jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bookings (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id),
    therapist_id  bigint NOT NULL REFERENCES therapists (id),
    service_type  text NOT NULL,
    starts_at     timestamptz NOT NULL,
    duration_min  integer NOT NULL,
    total_price   numeric(10, 2) NOT NULL,
    currency      char(3) NOT NULL,
    status        text NOT NULL,
    notes         text,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS chats (
    id            bigserial PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id),
    therapist_id  bigint NOT NULL REFERENCES therapists (id),
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS messages (
    id          bigserial PRIMARY KEY,
    chat_id     bigint NOT NULL REFERENCES chats (id),
    sender      text NOT NULL,
    body        text,
    attachment  bytea,
    sent_at     timestamptz NOT NULL DEFAULT now()
);
"""

SEED = """
INSERT INTO places (city, country, name, location, opening)
SELECT (ARRAY['Berlin','Lisboa','Zürich','Kraków','São Paulo','東京'])[1 + i % 6],
       (ARRAY['DE','PT','CH','PL','BR','JP'])[1 + i % 6],
       'Studio ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE point(i * 0.01, i * 0.02) END,
       CASE WHEN i % 5 = 0 THEN NULL
            ELSE jsonb_build_object('mon', '09:00-18:00',
                                    'sat', CASE WHEN i % 2 = 0 THEN NULL ELSE '10:00-14:00' END)
       END
FROM generate_series(1, $1::int / 40 + 1) AS i;

INSERT INTO therapists
    (display_name, bio, specialties, hourly_rate, currency, rating, place_id, photo, profile)
SELECT (ARRAY['Ana Müller','Søren Ødegård','Łucja Wiśniewska','José Núñez','美咲 佐藤'])[1 + i % 5]
         || ' ' || i,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 'Deep tissue & relaxation — "quotes", commas, and a
newline' END,
       CASE i % 4 WHEN 0 THEN ARRAY['thai', 'sports'] WHEN 1 THEN ARRAY['swedish']
                  WHEN 2 THEN '{}'::text[] ELSE ARRAY['shiatsu', NULL, 'hot stone'] END,
       round((40 + (i % 60) + 0.5)::numeric, 2),
       (ARRAY['EUR','CHF','PLN','BRL','JPY'])[1 + i % 5],
       CASE WHEN i % 9 = 0 THEN NULL ELSE (3 + (i % 20) / 10.0)::real END,
       (SELECT id FROM places ORDER BY id OFFSET (i % (SELECT count(*) FROM places)) LIMIT 1),
       CASE WHEN i % 3 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
       json_build_object('languages', json_build_array('en', 'de'), 'verified', i % 2 = 0)
FROM generate_series(1, $1::int / 10 + 1) AS i;

INSERT INTO users (email, full_name, locale, preferences, created_at)
SELECT 'user' || i || '@example.test',
       CASE WHEN i % 11 = 0 THEN NULL ELSE 'Kundin Nr. ' || i || ' — Ünïcødé' END,
       (ARRAY['de-DE','pt-PT','pl-PL','ja-JP', NULL])[1 + i % 5],
       jsonb_build_object('newsletter', i % 2 = 0, 'cities', jsonb_build_array('Berlin')),
       now() - (i || ' hours')::interval
FROM generate_series(1, $1::int) AS i;

INSERT INTO bookings (user_id, therapist_id, service_type, starts_at, duration_min,
                      total_price, currency, status, notes)
SELECT 1 + i % (SELECT count(*) FROM users),
       1 + i % (SELECT count(*) FROM therapists),
       (ARRAY['thai','swedish','deep tissue','shiatsu'])[1 + i % 4],
       now() + ((i % 500) - 250 || ' hours')::interval,
       (ARRAY[30, 60, 90])[1 + i % 3],
       round((35 + (i % 120) * 1.25)::numeric, 2),
       (ARRAY['EUR','CHF','PLN'])[1 + i % 3],
       (ARRAY['requested','confirmed','completed','cancelled'])[1 + i % 4],
       CASE WHEN i % 6 = 0 THEN 'Bitte ruhige Musik 🎵' ELSE NULL END
FROM generate_series(1, $1::int * 5) AS i;

INSERT INTO chats (user_id, therapist_id, started_at)
SELECT 1 + i % (SELECT count(*) FROM users), 1 + i % (SELECT count(*) FROM therapists),
       now() - (i || ' minutes')::interval
FROM generate_series(1, $1::int / 2 + 1) AS i;

INSERT INTO messages (chat_id, sender, body, attachment, sent_at)
SELECT 1 + i % (SELECT count(*) FROM chats),
       (ARRAY['customer','therapist'])[1 + i % 2],
       CASE WHEN i % 13 = 0 THEN NULL ELSE 'Hallo! Is ' || (i % 24) || ':00 ok? 👍' END,
       CASE WHEN i % 17 = 0 THEN decode(repeat('00ff', 8), 'hex') ELSE NULL END,
       now() - (i || ' seconds')::interval
FROM generate_series(1, $1::int * 3) AS i;
"""

TABLES = ("places", "therapists", "users", "bookings", "chats", "messages")


async def create_marketplace(connection: asyncpg.Connection, users: int = 2000) -> None:
    """Create the marketplace tables and seed them (about 11 rows per user in all)."""
    async with connection.transaction():
        await connection.execute(SCHEMA)
        for statement in SEED.split(";\n\n"):
            await connection.execute(statement, users)

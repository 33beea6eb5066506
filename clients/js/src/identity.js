/**
 * Who and when: the anonymous id (one per browser profile, persisted), the user
 * id after `identify`, and the session, renewed after 30 minutes without an event.
 */

import { randomId } from './environment.js';

export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;

export const IDENTITY_KEYS = {
  anonymousId: 'lookout.anonymousId',
  userId: 'lookout.userId',
  session: 'lookout.session',
};

function validSession(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.id === 'string' &&
    value.id !== '' &&
    typeof value.lastActivity === 'number' &&
    Number.isFinite(value.lastActivity)
  );
}

export class Identity {
  /** `persist`: whether ids may be written to storage (only with analytics consent). */
  constructor(storage, persist) {
    this.storage = storage;
    this.persist = persist;
    this.anonymousId = storage.get(IDENTITY_KEYS.anonymousId) || null;
    this.userId = storage.get(IDENTITY_KEYS.userId) || null;
    this.session = null;
  }

  /** The ids every message carries; creates the anonymous id on first use. */
  ids() {
    if (!this.anonymousId) {
      this.anonymousId = randomId();
      this.save(IDENTITY_KEYS.anonymousId, this.anonymousId);
    }
    return { anonymousId: this.anonymousId, userId: this.userId };
  }

  /**
   * The session of an event happening at `now` (ms): the current one, or a new one
   * when the last activity (in any tab, through storage) is over 30 minutes old.
   */
  sessionId(now) {
    let session = this.session;
    if (this.persist) {
      const stored = this.storage.getJson(IDENTITY_KEYS.session, null);
      if (validSession(stored)) session = stored;
    }
    if (!validSession(session) || now - session.lastActivity > SESSION_TIMEOUT_MS) {
      session = { id: randomId(), lastActivity: now };
    } else {
      session = { id: session.id, lastActivity: Math.max(now, session.lastActivity) };
    }
    this.session = session;
    if (this.persist) this.storage.setJson(IDENTITY_KEYS.session, session);
    return session.id;
  }

  identify(userId) {
    this.userId = userId;
    this.save(IDENTITY_KEYS.userId, userId);
  }

  /** A new visitor on this browser: no user id, a new anonymous id and session. */
  reset() {
    this.userId = null;
    this.session = null;
    this.storage.remove(IDENTITY_KEYS.userId);
    this.storage.remove(IDENTITY_KEYS.session);
    this.anonymousId = randomId();
    this.save(IDENTITY_KEYS.anonymousId, this.anonymousId);
  }

  /** Analytics consent withdrawn: ids leave storage (this page keeps them in memory). */
  forget() {
    this.persist = false;
    for (const key of Object.values(IDENTITY_KEYS)) this.storage.remove(key);
  }

  /** Analytics consent given: the ids in memory are persisted again. */
  remember() {
    this.persist = true;
    if (this.anonymousId) this.save(IDENTITY_KEYS.anonymousId, this.anonymousId);
    if (this.userId) this.save(IDENTITY_KEYS.userId, this.userId);
    if (this.session) this.storage.setJson(IDENTITY_KEYS.session, this.session);
  }

  save(key, value) {
    if (this.persist) this.storage.set(key, value);
  }
}

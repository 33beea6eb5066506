"""Each person's first exposure to an experiment and the variant it showed."""

from lookout_aggregator.rollups import Fragment, literal
from lookout_common.contracts.events import EventType

EXPERIMENTS = Fragment(
    "experiments",
    f"""
exposures AS (
    INSERT INTO experiment_exposures AS x (experiment, actor, variant, exposed_at)
    SELECT DISTINCT ON (props ->> 'experiment', actor)
           props ->> 'experiment', actor, props ->> 'variant', "timestamp"
    FROM new
    WHERE event = {literal(EventType.EXPERIMENT_EXPOSURE)} AND actor IS NOT NULL
      AND props ->> 'experiment' IS NOT NULL AND props ->> 'variant' IS NOT NULL
    ORDER BY props ->> 'experiment', actor, "timestamp"
    ON CONFLICT (experiment, actor) DO UPDATE SET
        variant = CASE WHEN EXCLUDED.exposed_at < x.exposed_at THEN EXCLUDED.variant
                       ELSE x.variant END,
        exposed_at = least(x.exposed_at, EXCLUDED.exposed_at)
)""",
)

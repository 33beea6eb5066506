"""The health monitor's HTTP routes: one module-level `APIRouter` per module, each
registered in `lookout_health.app` with one line; dependencies come from
`lookout_health.bootstrap`'s getters."""

"""The backup worker's HTTP routes: one module-level `APIRouter` per module, each
registered in `lookout_backup.app` with one line; dependencies come from
`lookout_backup.bootstrap`'s getters."""

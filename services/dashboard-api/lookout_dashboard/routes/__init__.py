"""dashboard-api's HTTP API: one `APIRouter` per area, which app.py includes, over the
`Depends` getters of bootstrap.py; `upstream` relays to the health monitor and the backup
worker, `allow` fixes the `Allow` header of 405 answers."""

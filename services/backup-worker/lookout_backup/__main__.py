from lookout_backup.app import create_app
from lookout_common.infra.service import serve
from lookout_common.infra.settings import BackupWorkerSettings


def main() -> None:
    settings = BackupWorkerSettings()
    serve(create_app(settings), settings, "backup-worker")


if __name__ == "__main__":
    main()

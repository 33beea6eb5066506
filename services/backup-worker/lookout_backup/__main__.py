from lookout_backup.app import create_app
from lookout_common.service import serve
from lookout_common.settings import BackupWorkerSettings


def main() -> None:
    settings = BackupWorkerSettings()
    serve(create_app(settings), settings, "backup-worker")


if __name__ == "__main__":
    main()

from lookout_common.infra.service import serve
from lookout_common.infra.settings import DashboardSettings
from lookout_dashboard.app import create_app


def main() -> None:
    settings = DashboardSettings()
    serve(create_app(settings), settings, "dashboard-api")


if __name__ == "__main__":
    main()

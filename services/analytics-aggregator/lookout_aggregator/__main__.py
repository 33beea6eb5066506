from lookout_aggregator.app import create_app
from lookout_common.service import serve
from lookout_common.settings import AggregatorSettings


def main() -> None:
    settings = AggregatorSettings()
    serve(create_app(settings), settings, "analytics-aggregator")


if __name__ == "__main__":
    main()

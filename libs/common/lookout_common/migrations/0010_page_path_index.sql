-- Journeys from a page ("page:/search") start at that page's views. The (event, occurred_at)
-- index finds every page view of the range and each row's path must then be read from the
-- heap (half of all events; 165 k rows a day at 10 M events a month); this partial index
-- finds one page's views directly. Only page views carry it, so it costs one index entry
-- per page view on the aggregator's write path.
CREATE INDEX user_analytics_page_path_idx ON user_analytics ((properties ->> 'path'), occurred_at)
    WHERE event = 'page_view';

"""The public status page at `/status`: components and their current state, 90 daily
bars each, active incidents with their timelines, scheduled maintenance, `/status.json`
and an Atom feed of incidents. It shows component names and states only: never a
check's name, target or message."""

"""``python -m spanlike.service.dashboard``: the dashboard demo server (:mod:`.launch`)."""

from spanlike.service.dashboard.launch import main

raise SystemExit(main())

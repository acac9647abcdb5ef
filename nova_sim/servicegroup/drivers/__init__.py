"""Service group drivers: ``db`` (Nova's default) and ``mc`` (in memory, after Nova's
memcache driver), on the heartbeat loop of ``base``."""

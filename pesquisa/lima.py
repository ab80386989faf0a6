"""Peru's time zone, in one place: cron schedules and naive dates are read in it."""

from zoneinfo import ZoneInfo

LIMA = ZoneInfo("America/Lima")

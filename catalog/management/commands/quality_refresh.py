from django.core.management.base import BaseCommand

from catalog import quality
from catalog.quality_upkeep import quality_refresh


class Command(BaseCommand):
    help = (
        "Rebuild the GNSS gate's per-day figures and every scene's quality flags from the "
        "scenes, with the current CATALOG_GNSS_MIN_FIX_RATE, CATALOG_GNSS_OUTAGE_MIN_VEHICLES "
        "and CATALOG_TIMEZONE. Ingest keeps them right by itself; run this after changing "
        "one of those settings. Scene writes wait while it runs (reads do not)."
    )

    def handle(self, *args, **options):
        result = quality_refresh()
        self.stdout.write(
            f"{result['vehicle_days']} vehicle-days, {result['outage_days']} outage days, "
            f"{result['scenes_changed']} scenes' flags changed "
            f"(threshold {quality.min_fix_rate():g}, "
            f"at least {quality.outage_min_vehicles()} low vehicles, {quality.timezone_name()})"
        )

"""Holiday calendars by region (`US`, `DE-BY`), from the `holidays` package: what the
holidays setting and each series' `holiday_region` attribute name."""

from __future__ import annotations

from tidecast.errors import TidecastError


def region_calendar(region: str, years: range):  # noqa: ANN201 - a holidays.HolidayBase
    """The `holidays` calendar of a region such as `US` or `DE-BY`."""
    import holidays

    country, _, subdivision = region.partition("-")
    try:
        return holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    except NotImplementedError:
        raise TidecastError(
            f"holiday region {region!r} (setting holidays): {country!r} is not a country "
            "code the holidays package knows (ISO 3166, e.g. US, DE, GB)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the package raises plain errors for subdivisions
        raise TidecastError(f"holiday region {region!r} (setting holidays): {exc}") from None

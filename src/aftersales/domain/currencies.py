"""ISO 4217: the active currency codes and their minor units (decimal places).

The table is data, kept here rather than read from a locale library at run time (the domain
does no I/O): two decimals unless :data:`MINOR_UNITS` says otherwise. Add a code of your own
with :func:`register_currency` (e.g. a loyalty-point unit with no decimals).
"""

from __future__ import annotations

from aftersales.errors import ConfigurationError

__all__ = ["ISO_4217", "MINOR_UNITS", "is_currency", "minor_unit", "register_currency"]

#: Active ISO 4217 alphabetic codes (list one, as of 2026), funds codes included.
ISO_4217: frozenset[str] = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
    "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
})

#: Codes whose minor unit is not 2 (ISO 4217 list one).
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
            "VND", "VUV", "XAF", "XOF", "XPF",
        ),
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}

_EXTRA: dict[str, int] = {}


def is_currency(code: str) -> bool:
    """True for an active ISO 4217 code (or one added with :func:`register_currency`)."""
    return code in ISO_4217 or code in _EXTRA


def minor_unit(code: str) -> int:
    """The number of decimals of ``code`` (2 unless ISO 4217 says otherwise)."""
    extra = _EXTRA.get(code)
    if extra is not None:
        return extra
    return MINOR_UNITS.get(code, 2)


def register_currency(code: str, minor: int) -> None:
    """Accept a currency ISO 4217 does not list (a three-letter upper-case code of your own),
    with ``minor`` decimals (0 to 4)."""
    if not (len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
        raise ConfigurationError(f"currency code {code!r} must be three letters A-Z")
    if code in ISO_4217:
        raise ConfigurationError(f"{code} is an ISO 4217 code already")
    if isinstance(minor, bool) or not isinstance(minor, int) or not 0 <= minor <= 4:
        raise ConfigurationError("a minor unit is 0 to 4 decimals")
    _EXTRA[code] = minor

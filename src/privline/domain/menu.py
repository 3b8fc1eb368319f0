"""The voice menu's words and keys: what a resident at a stock phone hears and presses.

Pure: the menu (adapters/switch/ivr.py) asks here what to say, in which language, and
what a dialled string means; the decision itself is always ``decide_call``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Dialled before the number, this key asks for a private (unrecorded) call. The core
# still decides: only a verified privileged number is connected unrecorded.
PRIVATE_KEY = "7"
LANGUAGES = ("en", "es")
PIN_TRIES = 3  # wrong PINs before the menu hangs up
# The called party's keys.
ACCEPT, REFUSE, BLOCK = "1", "2", "6"
MAX_PIN_DIGITS = 12
MAX_NUMBER_DIGITS = 16  # the private key and an E.164 number with its international prefix


@dataclass(frozen=True)
class Dialled:
    number: str
    private_requested: bool


def parse_dialled(user: str) -> Dialled:
    """The Request-URI's user part as a stock phone sends it: digits, with the private
    key in front when the resident asked for a private call. A leading ``+`` is kept."""
    digits = user.strip()
    if digits.startswith(PRIVATE_KEY) and len(digits) > 1:
        return Dialled(digits[1:], True)
    return Dialled(digits, False)


def language_of(*choices: str | None) -> str:
    """The first choice that is a language the menu speaks (resident before facility)."""
    for choice in choices:
        if choice and choice.lower()[:2] in LANGUAGES:
            return choice.lower()[:2]
    return "en"


_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "enter_pin": "Please enter your PIN, then press pound.",
        "pin_wrong": "That PIN was not recognised.",
        "pin_failed": "That PIN was not recognised. Goodbye.",
        "no_entry": "No entry was received. Goodbye.",
        "enter_number": (
            "Please dial the number you wish to call, then press pound. For a private "
            "call to a lawyer, doctor or religious adviser, press 7 first."),
        "rate": "This call costs {cents} cents per minute. Please hold.",
        "free_private": "This call is free and private. It is not recorded. Please hold.",
        "call_failed": "The call could not be completed. Goodbye.",
        "not_accepted": "The called party did not accept the call. Goodbye.",
        "called_recorded": (
            "This is a call from a resident of {facility}. It will be recorded and may be "
            "monitored. Press 1 to accept, 2 to refuse, 6 to stop calls from this facility."),
        "called_private": (
            "This is a private call from a resident of {facility}. It is not recorded or "
            "monitored. Press 1 to accept."),
        "called_blocked": "Calls from this facility to this number are stopped. Goodbye.",
        "called_cannot_block": (
            "This number cannot be blocked here. If it belongs to a lawyer, doctor or "
            "religious adviser, register it on the privline registration page. Goodbye."),
        "denied.number_blocked": "This number is blocked. Goodbye.",
        "denied.insufficient_balance": "Your balance is too low for this call. Goodbye.",
        "denied.privilege_unknown": (
            "This call could not be checked and will not be connected. Goodbye."),
        "denied.resident_locked": (
            "Your account is locked after too many wrong PINs. Try again later. Goodbye."),
        "denied.resident_inactive": "Your account cannot place calls. Goodbye.",
        "denied.pin_invalid": "That PIN was not recognised. Goodbye.",
        "denied": "This call cannot be completed. Goodbye.",
    },
    "es": {
        "enter_pin": "Marque su número personal y después la tecla numeral.",
        "pin_wrong": "Ese número personal no es válido.",
        "pin_failed": "Ese número personal no es válido. Adiós.",
        "no_entry": "No se recibió ningún número. Adiós.",
        "enter_number": (
            "Marque el número al que desea llamar y después la tecla numeral. Para una "
            "llamada privada a un abogado, médico o consejero religioso, marque 7 primero."),
        "rate": "Esta llamada cuesta {cents} centavos por minuto. Espere, por favor.",
        "free_private": (
            "Esta llamada es gratuita y privada. No se graba. Espere, por favor."),
        "call_failed": "No se pudo completar la llamada. Adiós.",
        "not_accepted": "La persona llamada no aceptó la llamada. Adiós.",
        "called_recorded": (
            "Esta es una llamada de una persona detenida en {facility}. Será grabada y puede "
            "ser escuchada. Marque 1 para aceptar, 2 para rechazar, 6 para no recibir más "
            "llamadas de este centro."),
        "called_private": (
            "Esta es una llamada privada de una persona detenida en {facility}. No se graba "
            "ni se escucha. Marque 1 para aceptar."),
        "called_blocked": "Ya no recibirá llamadas de este centro. Adiós.",
        "called_cannot_block": (
            "Este número no se puede bloquear aquí. Si es de un abogado, médico o consejero "
            "religioso, regístrelo en la página de registro de privline. Adiós."),
        "denied.number_blocked": "Este número está bloqueado. Adiós.",
        "denied.insufficient_balance": "Su saldo no alcanza para esta llamada. Adiós.",
        "denied.privilege_unknown": (
            "No se pudo verificar esta llamada y no se conectará. Adiós."),
        "denied.resident_locked": (
            "Su cuenta está bloqueada por demasiados intentos. Inténtelo más tarde. Adiós."),
        "denied.resident_inactive": "Su cuenta no puede hacer llamadas. Adiós.",
        "denied.pin_invalid": "Ese número personal no es válido. Adiós.",
        "denied": "No se puede completar esta llamada. Adiós.",
    },
}


def words(prompt: str, language: str, *, rate_per_minute: Decimal = Decimal(0),
          facility: str = "") -> str:
    """The words of one menu prompt. ``denied.<reason>`` falls back to the general
    refusal for a reason without its own sentence; the reason code stays in the record."""
    table = _WORDS[language if language in _WORDS else "en"]
    text = table.get(prompt)
    if text is None and prompt.startswith("denied."):
        text = table["denied"]
    if text is None:
        raise KeyError(prompt)
    cents = (rate_per_minute * 100).normalize()
    return text.format(cents=f"{cents:f}", facility=facility)


def denial_prompt(reason: str) -> str:
    return f"denied.{reason}"

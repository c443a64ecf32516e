"""Language detection from function words: the common desk languages told apart, None when the text does not say."""

from __future__ import annotations

import pytest

from runtime.intake.language import detect_language

SAMPLES = [
    ("en", "My laptop does not start after the update, can you help me?"),
    ("en", "Hi team, the invoice was charged twice. Please refund one of them. Thanks, Maria"),
    ("de", "Der Drucker im zweiten Stock druckt seit gestern nicht mehr."),
    ("de", "Ich kann mich seit heute Morgen nicht im VPN anmelden, bitte um Hilfe."),
    ("fr", "L'imprimante du deuxième étage ne fonctionne plus depuis hier."),
    ("fr", "Je ne peux pas me connecter au VPN depuis ce matin."),
    ("es", "La impresora del segundo piso no imprime desde ayer."),
    ("es", "Hola, tengo un problema con mi cuenta y no puedo entrar al sistema."),
    ("it", "Il mio portatile non si avvia dopo l'aggiornamento."),
    ("nl", "De printer op de tweede verdieping werkt sinds gisteren niet meer."),
    ("pt", "A impressora do segundo andar não imprime desde ontem."),
    ("pt", "Olá, tenho um problema com a minha conta e não consigo entrar no sistema."),
]


@pytest.mark.parametrize(("language", "text"), SAMPLES)
def test_a_sentence_is_recognised(language: str, text: str) -> None:
    assert detect_language(text) == language


@pytest.mark.parametrize("text", [
    "", "Printer jams", "Drucker kaputt!", "asdkj qwpoe zmxnc vbqwe lkjhg poiuz",
    "ERROR 0x8004 at 12:00:01 kernel panic stack trace 0000ffff",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.",
])
def test_short_or_unlike_any_language_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_an_error_message_in_another_language_does_not_outvote_the_text() -> None:
    assert detect_language("Hallo, der Drucker zeigt seit heute die Meldung 'paper jam in tray 2' und druckt "
                           "nicht mehr. Können Sie bitte jemanden schicken?") == "de"

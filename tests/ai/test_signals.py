"""What the local provider reads without a model: urgency and sentiment with the phrases that said so, keywords
and a one-line summary."""

from __future__ import annotations

from runtime.ai import signals


def test_urgency_comes_from_the_strongest_cue() -> None:
    assert signals.urgency("Production down since 9:00, the whole site") == ("critical", ("production down",))
    assert signals.urgency("Please fix this ASAP, I cannot work") == ("high", ("asap", "cannot work"))
    assert signals.urgency("No rush, whenever you have time") == ("low", ("no rush", "whenever"))
    assert signals.urgency("The printer prints slowly") == ("normal", ())
    assert signals.urgency("Help!!! Nothing works!") == ("high", ("!!!",))
    assert signals.urgency("Das ist dringend, bitte sofort") == ("high", ("dringend", "sofort"))


def test_sentiment_weighs_unhappy_against_friendly_phrases() -> None:
    assert signals.sentiment("This is unacceptable, still not fixed!") == ("negative", ("unacceptable",
                                                                                        "still not"))
    assert signals.sentiment("Thanks a lot, great work") == ("positive", ("thanks", "great"))
    assert signals.sentiment("Thanks, but this is unacceptable and ridiculous")[0] == "negative"
    assert signals.sentiment("The VPN drops.") == ("neutral", ())


def test_keywords_favour_title_words_and_skip_function_words() -> None:
    assert signals.keywords("VPN drops at home", "The VPN client drops the tunnel when I am at home.") == (
        "vpn", "drops", "home", "client", "tunnel")


def test_the_summary_is_the_title_or_the_first_sentence_cut_at_a_word() -> None:
    assert signals.summary("Printer jam", "Long text.") == "Printer jam"
    assert signals.summary("", "The printer jams. It did so yesterday too.") == "The printer jams."
    long = signals.summary("word " * 60, "")
    assert len(long) <= 200
    assert long.endswith("word…")

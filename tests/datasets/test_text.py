from lamina.datasets import load_coriolanus


def test_the_shipped_text_is_the_opening_of_coriolanus():
    text = load_coriolanus()
    assert len(text) == 7302 and text.isascii()
    assert text.startswith("First Citizen:\nBefore we proceed any further, hear me speak.")
    assert text.rstrip().endswith("Hail, noble Marcius!")

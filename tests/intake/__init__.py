"""Intake: mail parsing, quote stripping, the pipeline's stages, the sample corpus and the commands."""

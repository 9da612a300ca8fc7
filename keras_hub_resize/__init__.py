"""Vocabulary resize for keras-hub task models (Keras 3), to the standard of ``reference/``.

keras-hub has no resize API; ``resize_token_embeddings(task, n)`` grows or shrinks the backbone's
token embedding (tied or untied ``ReversibleEmbedding``), every vocabulary-sized head weight and
bias, and the backbone config, so saved models and presets reload at the new size.
"""

from keras_hub_resize.parts import UnknownVocabularyPart, VocabParts, find
from keras_hub_resize.resize import (
                                     VocabularyMismatchError,
                                     check_tokenizer_fits,
                                     resize_token_embeddings,
                                     vocabulary_size,
)

__all__ = ["UnknownVocabularyPart", "VocabParts", "VocabularyMismatchError", "check_tokenizer_fits", "find",
           "resize_token_embeddings", "vocabulary_size"]

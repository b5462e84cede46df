"""Prompts stage: greedy generations of a prompt set, scored by the answer checker.

The prompt sets themselves (the 24-prompt benchmark, the toy set) are read by several stages and
live in :mod:`r1interp.core.prompt_sets`; ``load_prompt_set`` is re-exported here for the rules.
"""

from r1interp.core.prompt_sets import CATEGORY_COUNTS, Prompt, load_prompt_set
from r1interp.prompts.checker import check_answer, extract_answer

__all__ = ["CATEGORY_COUNTS", "Prompt", "check_answer", "extract_answer", "load_prompt_set"]

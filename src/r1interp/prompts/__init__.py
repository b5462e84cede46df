"""Prompt sets (the 24-prompt benchmark, the toy set), the answer checker, greedy generations."""

from r1interp.prompts.checker import check_answer, extract_answer
from r1interp.prompts.sets import CATEGORY_COUNTS, Prompt, load_prompt_set

__all__ = ["CATEGORY_COUNTS", "Prompt", "check_answer", "extract_answer", "load_prompt_set"]

"""JSON summaries of the commands: ``rather.common.summaries``, which the domains' pipelines use too."""
from rather.common.summaries import plain, question_records, write_json

__all__ = ["plain", "question_records", "write_json"]

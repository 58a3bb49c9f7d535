"""Quiz attempts: grading and storing them; a pass completes the lesson. (Being written.)"""


def quiz_attempt_submit(**kwargs):
    raise NotImplementedError

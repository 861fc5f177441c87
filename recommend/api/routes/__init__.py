"""One router per resource; routes call service functions and hold no SQL."""

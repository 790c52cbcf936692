"""Gymnasium wrappers that work on any text env (expert-step reward, recorder, action parser)."""

"""Trainer for LLM agents with expert demonstrations and step-wise rewards (grows in later issues)."""

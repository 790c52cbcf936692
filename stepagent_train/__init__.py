"""Trainer for LLM agents on any Gymnasium text env, with expert demonstrations and step-wise rewards.

Modules, in the order data flows through them:

* :mod:`.prompts`: the one prompt builder (rollouts and training alike);
* :mod:`.policies`: ``act(prompts) -> actions`` for a local HF model (with
  LoRA, and log-probabilities of given actions) or any callable;
  :mod:`.http_policy` for an OpenAI-compatible endpoint;
* :mod:`.offline_model`: the offline default model (tokenizer trained on the
  env's text, small Llama built from a config);
* :mod:`.collect`: expert demonstrations; :mod:`.rollout`: batched rollouts;
* :mod:`.batching`: token batches and action log-probabilities; :mod:`.sft`:
  supervised fine-tuning; :mod:`.checkpoint`: atomic checkpoints;
* :mod:`.evaluate`: success, score and step agreement of any policy;
  :mod:`.demo`: the end-to-end demo; :mod:`.cli`: the command lines.

Submodules are imported on use, so ``import stepagent_train`` needs no torch.
"""

"""StepShop: WebShop's text-mode shop over WebShop-format data, with an expert oracle."""

from .env import StepShopEnv

__all__ = ["StepShopEnv"]

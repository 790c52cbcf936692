"""Envs whose large data (a catalogue, a corpus) is loaded once per process and shared."""

from __future__ import annotations


class SharedDataEnv:
    """Mixin for an env that attaches per-process shared data in ``_attach()``.

    Pickles and deep copies carry only the constructor arguments and the
    episode state; unpickling re-attaches the shared data (loaded once per
    process), so copies are cheap and vector-env workers never ship a corpus.
    Subclasses list the attributes to leave out in ``_shared_attrs``.
    """

    _shared_attrs: tuple[str, ...] = ()

    def _attach(self) -> None:
        raise NotImplementedError

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in self._shared_attrs:
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._attach()

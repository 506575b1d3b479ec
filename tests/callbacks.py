"""Callbacks the tests share: ending a training run part-way, as a learner's would end."""

import keras


class EndAt(keras.callbacks.Callback):
    """End training at epoch ``epoch`` (0-based), at its end or (``at_begin``) its start.

    ``interrupt=True`` raises KeyboardInterrupt, as a stopped kernel does;
    ``interrupt=False`` asks ``fit`` to stop, as a time budget running out does.
    """

    def __init__(self, epoch, *, interrupt=True, at_begin=False):
        super().__init__()
        self.epoch, self.interrupt, self.at_begin = epoch, interrupt, at_begin

    def _end(self, epoch):
        if epoch != self.epoch:
            return
        if self.interrupt:
            raise KeyboardInterrupt
        self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        if self.at_begin:
            self._end(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if not self.at_begin:
            self._end(epoch)

"""Chat inputs: the interface, and the built-in ``console``, ``xmpp`` and ``slack`` inputs.

The concrete inputs are imported only when chosen (their chat libraries are heavy).
"""

from micro_bot.inputs.base import INPUTS_GROUP, Input, InputNotFound, Receive, input_class, input_names
from micro_bot.inputs.tasks import Handling

__all__ = ["INPUTS_GROUP", "Handling", "Input", "InputNotFound", "Receive", "input_class", "input_names"]

"""`ferrograd.nn.utils`: gradient clipping and fine-tuning helpers."""

from .clip_grad import clip_grad_norm_, clip_grad_value_
from .finetune import freeze, replace_head, unfreeze

"""Unicorn's ids of the general-purpose registers, by number.

X29 and X30 are not X0 + 29 and X0 + 30: Unicorn numbers them with FP and LR, elsewhere in
its enumeration, so code must index these tables instead of adding to UC_ARM64_REG_X0.
"""

from unicorn import arm64_const as _c

X = tuple(getattr(_c, f"UC_ARM64_REG_X{i}") for i in range(31))
W = tuple(getattr(_c, f"UC_ARM64_REG_W{i}") for i in range(31))

// attacker_toe_connect: attacker_toe.s, connecting where it may not.
.equ ATTACK_CONNECT,    1
.include "attacker_toe.s"

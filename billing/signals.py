"""Signals billing sends, for the apps above it (which billing never imports).

`entitlements_changed(sender, user_id)`: what a user is entitled to may have changed (a tier
grant given, a subscription stored from Stripe: started, renewed, past due, cancelled). Sent
after the change commits. Receivers re-ask `billing.entitlements` (or the access policy); the
signal says nothing about the direction of the change.
"""

from django.dispatch import Signal

entitlements_changed = Signal()

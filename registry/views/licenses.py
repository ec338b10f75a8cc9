"""Product subscriptions and their license keys as the JSON API shows them."""

from __future__ import annotations

from typing import Any

from registry import licensing
from registry.store.licenses import License, Subscription
from registry.views.common import record_json


def render_subscription(subscription: Subscription) -> dict[str, Any]:
    return record_json(
        subscription, "id", "user_id", "username", "billing_subscription_id", "created_at", "updated_at", "archived_at"
    )


def render_license(issued: License) -> dict[str, Any]:
    """The key, and its payload decoded for reading (the key itself is what a client verifies)."""
    return {
        **record_json(issued, "id", "subscription_id", "license_key"),
        "license": licensing.decode_payload(issued.license_key),
        "created_at": issued.created_at,
    }

"""Write the labelled retrieval sets in bench/data/ (deterministic: same seed, same files).

    python bench/make_retrieval_sets.py            # rewrites bench/data/routing_*.json

Routing: a customer-service team of eight live specialists whose vocabularies overlap
(billing / refunds / logistics with returns / tech support / account security / sales /
privacy / loyalty), three *stale* decoys whose descriptions match their domain's tasks better
than the live specialist's does, and tasks written per *intent* in several phrasings:

* ``direct``     - names the specialist's own words ("invoice", "refund", "password");
* ``paraphrase`` - says the same without the specialist's capability words;
* ``trap``       - shares a word with the WRONG specialist's capabilities ("the search page
  returns error 500": tech support, not the returns desk; "stop tracking my browsing":
  privacy, not parcel tracking).

Each task carries one label: the live specialist a human dispatcher would pick. The split is
by intent, never by phrasing (all phrasings of an intent fall in one half, so tuning never
sees a paraphrase of a held-out task): ``routing_tune.json`` is for choosing weights,
``routing_held.json`` for reporting. The files are checked in; `tests/test_retrieval_routing.py`
checks that this script still writes them byte for byte.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
SEED = 14  # issue 14

AGENTS: list[dict[str, Any]] = [
    {
        "name": "billing",
        "description": "Billing desk. Explains invoices and the charges on your account, "
        "updates payment methods and billing addresses, sorts out failed card payments and "
        "issues VAT receipts.",
        "capabilities": ["billing", "invoices", "payments"],
        "trust": 0.8,
    },
    {
        "name": "refunds",
        "description": "Refunds team. Gives customers their money back: refunds for cancelled "
        "or faulty orders, duplicate charges paid back, chargebacks and compensation.",
        "capabilities": ["refunds", "chargebacks"],
        "trust": 0.7,
    },
    {
        "name": "logistics",
        "description": "Logistics team. Ships orders, tracks parcels and deliveries, changes "
        "delivery addresses, books courier pickups and prints return labels for items sent "
        "back to the warehouse.",
        "capabilities": ["shipping", "tracking", "returns"],
        "trust": 0.9,
    },
    {
        "name": "tech_support",
        "description": "Technical support. Troubleshoots devices and apps: crashes, error "
        "messages, broken screens, batteries, connectivity, setup and repairs under warranty.",
        "capabilities": ["troubleshooting", "repairs", "devices"],
        "trust": 0.6,
    },
    {
        "name": "account_security",
        "description": "Account security. Recovers hacked accounts, resets passwords, sets up "
        "two-factor authentication, checks suspicious sign-ins and unlocks locked accounts.",
        "capabilities": ["security", "passwords", "login"],
        "trust": 0.85,
    },
    {
        "name": "sales",
        "description": "Sales team. Prices, quotes and discounts for new customers and "
        "businesses, bulk purchases, plan upgrades and product demos.",
        "capabilities": ["pricing", "quotes", "upgrades"],
        "trust": 0.5,
    },
    {
        "name": "privacy",
        "description": "Privacy office. Handles personal data requests: copies of your data, "
        "deleting your personal information, consent, cookies and opting out of marketing "
        "under GDPR.",
        "capabilities": ["privacy", "data-requests", "consent"],
        "trust": 0.75,
    },
    {
        "name": "loyalty",
        "description": "Loyalty programme. Reward points, member tiers, gift cards and "
        "vouchers, birthday perks and referral bonuses.",
        "capabilities": ["rewards", "vouchers", "membership"],
        "trust": 0.65,
    },
    # Stale decoys: each describes its domain in more of the tasks' own words than the live
    # specialist does, so a router that forgets staleness picks them.
    {
        "name": "billing_archive",
        "description": "Billing: invoices, bills, charges, payments, cards, statements, "
        "receipts, VAT, tax documents, failed payments and declined cards for every account.",
        "capabilities": ["billing", "invoices", "payments"],
        "trust": 0.95,
        "stale": True,
    },
    {
        "name": "support_legacy",
        "description": "Technical support for devices and apps: laptops, phones, tablets, "
        "crashes, freezes, screens, displays, batteries, charging, wifi, bluetooth, errors.",
        "capabilities": ["troubleshooting", "repairs", "devices"],
        "trust": 0.95,
        "stale": True,
    },
    {
        "name": "parcels_old",
        "description": "Parcels and deliveries: where is my parcel, package tracking, courier, "
        "delivery address, sending items back, return labels, pickups.",
        "capabilities": ["shipping", "tracking", "returns"],
        "trust": 0.95,
        "stale": True,
    },
]

PRODUCTS = ["laptop", "phone", "tablet", "headphones", "smartwatch", "printer", "router"]
ORDERS = ["A-1042", "77310", "KX-2291", "500183", "B-9930"]
MONTHS = ["March", "June", "September", "last month", "January"]
OPENERS = ["", "", "Hi, ", "Hello team, ", "Quick question: ", "Good morning. "]
CLOSERS = ["", "", " Thanks!", " It's urgent.", " Thank you in advance.", " Please help."]

# (label, kind, phrasings): one intent per entry; {product} {order} {month} are filled.
# fmt: off
INTENTS: list[tuple[str, str, list[str]]] = [
    # billing
    ("billing", "direct", ["Can you explain the charges on my latest invoice?",
                           "Why is my bill higher than usual in {month}?"]),
    ("billing", "paraphrase", ["There is an amount on my bank statement from you that I do "
                               "not recognise.",
                               "You took more from my account this month than you normally "
                               "do, what is it for?"]),
    ("billing", "direct", ["Please update the payment method, my credit card expired.",
                           "My card expired, how do I put a new one on file?"]),
    ("billing", "paraphrase", ["My accountant needs a tax document for what I paid in "
                               "{month}.",
                               "I need a receipt with VAT for order {order} for my expense "
                               "report."]),
    ("billing", "paraphrase", ["The bank declined the monthly debit, what happens to my plan?",
                               "My card keeps getting declined when the subscription renews."]),
    ("billing", "trap", ["The security code of my card is rejected when I pay the invoice.",
                         "Do I pay tax on the upgrade I bought in {month}? Send that invoice "
                         "again please."]),
    # refunds
    ("refunds", "direct", ["I cancelled order {order}, when do I get my refund?",
                           "Please refund the {product} I cancelled yesterday."]),
    ("refunds", "paraphrase", ["I called off the order before it shipped and want my money "
                               "back.",
                               "Please reimburse me for order {order}, I cancelled it."]),
    ("refunds", "paraphrase", ["You charged me twice for the same order, pay one of them back.",
                               "Two identical debits for one purchase, reverse one of them."]),
    ("refunds", "paraphrase", ["It has been two weeks since you approved my money back and "
                               "still nothing arrived.",
                               "Where is the reimbursement you promised for the damaged "
                               "{product}?"]),
    ("refunds", "trap", ["I don't want a voucher, I want the money back on my card.",
                         "Store credit and gift cards are no use to me, put the cash back "
                         "on my bank account."]),
    ("refunds", "trap", ["The {product} was returned to your warehouse a month ago, where is "
                         "my money?",
                         "Tracking shows you received my parcel back, so when is my money "
                         "coming?"]),
    # logistics
    ("logistics", "direct", ["Where is my parcel? The tracking has not moved in days.",
                             "Can you track order {order} for me?"]),
    ("logistics", "paraphrase", ["My {product} should have arrived on Tuesday and nothing "
                                 "came.",
                                 "The courier says delivered but there is nothing at my "
                                 "door."]),
    ("logistics", "paraphrase", ["Can I change the delivery address for order {order}?",
                                 "I am moving next week, send the package to my new flat "
                                 "instead."]),
    ("logistics", "direct", ["I need a return label to send back the {product}.",
                             "How do I return the {product}? It does not fit."]),
    ("logistics", "paraphrase", ["Do you deliver to Norway, and how long does it take?",
                                 "How much is express delivery to Canada?"]),
    ("logistics", "trap", ["The {product} arrived in the wrong colour, I only want to swap it "
                           "for another one, not a repair.",
                           "The code for the parcel locker doesn't work, how do I collect my "
                           "package?"]),
    # tech support
    ("tech_support", "paraphrase", ["The app crashes every time I open it on my {product}.",
                                    "Your software keeps freezing and closing by itself."]),
    ("tech_support", "paraphrase", ["My {product} screen is cracked and flickers.",
                                    "The display of my {product} went black after I dropped "
                                    "it."]),
    ("tech_support", "paraphrase", ["The {product} battery drains in two hours.",
                                    "My {product} will not charge anymore."]),
    ("tech_support", "paraphrase", ["My {product} won't connect to the wifi.",
                                    "Bluetooth pairing keeps failing with my {product}."]),
    ("tech_support", "trap", ["The search page returns error 500 every time.",
                              "My laptop won't return from sleep and the screen is cracked."]),
    ("tech_support", "trap", ["After the firmware upgrade my {product} keeps rebooting.",
                              "Since upgrading the app it shows a blank white page."]),
    ("tech_support", "trap", ["The step tracking on my smartwatch stopped counting.",
                              "Sleep tracking on my watch shows zero every night."]),
    # account security
    ("account_security", "paraphrase", ["Someone got into my account and changed my email.",
                                        "I think my account was hacked, there are orders I "
                                        "never made."]),
    ("account_security", "direct", ["I forgot my password and the reset email never "
                                    "arrives.",
                                    "How do I change my password?"]),
    ("account_security", "paraphrase", ["I lost my phone and cannot get the two-factor "
                                        "codes.",
                                        "Turn on two-step verification for my account."]),
    ("account_security", "paraphrase", ["I got an alert about a sign-in from another "
                                        "country.",
                                        "My account is locked after too many attempts."]),
    ("account_security", "trap", ["Sign me out on all devices, someone else is using my "
                                  "account.",
                                  "A device I don't own is signed in to my profile."]),
    # sales
    ("sales", "paraphrase", ["How much does the business plan cost for 50 users?",
                             "What would 200 units of the {product} cost us?"]),
    ("sales", "direct", ["Can you send a quote for 30 {product}s for our school?",
                         "We need a price quote for a fleet of {product}s."]),
    ("sales", "paraphrase", ["I want to move from the basic plan to premium, what is the "
                             "difference?",
                             "Which plan should a growing team of twelve buy?"]),
    ("sales", "paraphrase", ["Can we book a product demo for our team next week?",
                             "Do you give discounts to nonprofits or schools?"]),
    ("sales", "trap", ["Is the premium plan with advanced security features worth it for a "
                       "team of 20, and what does it cost?",
                       "We want rewards for our employees: how much is your corporate gift "
                       "bundle per person?"]),
    # privacy
    ("privacy", "paraphrase", ["Send me a copy of all the personal data you hold about me.",
                               "What information do you store about me? I want to see it."]),
    ("privacy", "paraphrase", ["Delete my account and all my personal information.",
                               "Please erase everything you know about me."]),
    ("privacy", "paraphrase", ["Stop sending me marketing emails and do not share my details "
                               "with partners.",
                               "How do I refuse cookies on your website?"]),
    ("privacy", "trap", ["Stop tracking my browsing on your site, I never agreed to it.",
                         "Remove my home address from old invoices and your records under "
                         "GDPR."]),
    # loyalty
    ("loyalty", "direct", ["How many reward points do I have?",
                           "The points from my {month} purchase never showed up."]),
    ("loyalty", "direct", ["My birthday voucher code does not work at checkout.",
                           "Can I use two gift cards on one order?"]),
    ("loyalty", "paraphrase", ["What do I need to reach gold tier?",
                               "I referred a friend, where is my bonus?"]),
    ("loyalty", "trap", ["If I make returns, do I lose the points I earned?",
                         "Does my member tier upgrade by itself after ten orders?"]),
]
# fmt: on


def _fill(template: str, rng: random.Random) -> str:
    return template.format(
        product=rng.choice(PRODUCTS), order=rng.choice(ORDERS), month=rng.choice(MONTHS)
    )


def build(seed: int = SEED) -> dict[str, Any]:
    """The routing set: agents, and tasks split by intent into ``tune`` and ``held``."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, (label, _, _) in enumerate(INTENTS):
        by_label.setdefault(label, []).append(i)
    half = {}
    for label in sorted(by_label):
        ids = by_label[label][:]
        rng.shuffle(ids)
        for j, i in enumerate(ids):
            half[i] = "tune" if j % 2 == 0 else "held"
    stale_by_label = {a["capabilities"][0]: a["name"] for a in AGENTS if a.get("stale")}
    live_caps = {a["capabilities"][0]: a["name"] for a in AGENTS if not a.get("stale")}
    decoy = {live_caps[c]: n for c, n in stale_by_label.items()}
    sets: dict[str, list[dict[str, Any]]] = {"tune": [], "held": []}
    for i, (label, kind, phrasings) in enumerate(INTENTS):
        for template in phrasings:
            # Variants differ in the filled slots and in the greeting around them.
            seen: set[str] = set()
            for _ in range(3 if "{" in template else 2):
                task = rng.choice(OPENERS) + _fill(template, rng) + rng.choice(CLOSERS)
                if task in seen:
                    continue
                seen.add(task)
                sets[half[i]].append(
                    {
                        "task": task,
                        "label": label,
                        "kind": kind,
                        "intent": i,
                        "stale_decoy": decoy.get(label),
                    }
                )
    return {"agents": AGENTS, **sets}


def write(directory: Path = DATA, seed: int = SEED) -> list[Path]:
    built = build(seed)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, data in (
        ("routing_agents.json", built["agents"]),
        ("routing_tune.json", built["tune"]),
        ("routing_held.json", built["held"]),
    ):
        path = directory / name
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        out.append(path)
    return out


if __name__ == "__main__":
    for path in write(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA):
        print(path)

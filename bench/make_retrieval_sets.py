"""Write the labelled retrieval sets in bench/data/ (deterministic: same seed, same files).

    python bench/make_retrieval_sets.py            # rewrites bench/data/{routing,store}_*.json

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


# -- store search ---------------------------------------------------------------------------
# Memories a user's assistant keeps, and questions about them. Kinds of query:
#
# * ``paraphrase`` - asks for one fact without its content words ("what pet do I have" for
#   "we adopted a beagle called Biscuit"); graded against the fact;
# * ``exact``      - names an order number, ticket id, error code or person among hundreds of
#   near-identical records ("where is order 48213"): only the token tells them apart; some
#   give the bare id, or the id amid unrelated words ("remind me about 48213 please");
# * ``distractor`` - a paraphrase query whose words also appear in memories of another meaning
#   (the bank of a river, the Python language against a python at the zoo).
#
# Each query has one relevant memory. Queries are split by fact, never by phrasing, into
# ``store_tune.json`` (weights are chosen on it) and ``store_held.json`` (numbers reported).

# fmt: off
FACTS: list[tuple[str, list[str], list[str]]] = [
    # (memory, paraphrase queries, distractor memories sharing the queries' words)
    ("We adopted a beagle called Biscuit from the shelter last spring.",
     ["what pet do I have", "which animal lives with us"],
     ["The pet shop on Main Street closes at six.", "I have to renew the car insurance."]),
    ("I am allergic to peanuts and carry an epinephrine pen.",
     ["which food makes me ill", "what can't I eat safely"],
     ["The food truck festival is on Saturday.", "I can't make it to the gym this week."]),
    ("My sister Clara moved to Lisbon in March.",
     ["where does my sibling live now", "which city did my sister relocate to"],
     ["My sister's birthday cake should be chocolate.", "The city council meets on Tuesdays."]),
    ("I prefer window seats on long flights.",
     ["how do I like to sit on a plane", "my airline seating preference"],
     ["Book a table by the window for Friday dinner.",
      "The plane tickets to Rome cost 420 euros."]),
    ("My blood type is O negative.",
     ["what is my blood group", "which blood do I have for a transfusion"],
     ["The blood drive at the office needs volunteers.", "What type of printer do we have?"]),
    ("I take my coffee black with no sugar.",
     ["how do I drink my morning brew", "what do I put in my coffee"],
     ["The coffee machine on floor two is broken.", "Sugar prices went up again this month."]),
    ("The wifi password at home is on a sticker under the router.",
     ["where can I find the network key", "how do I get online at my house"],
     ["Change the password of the bank account every year.",
      "The router at the office was replaced."]),
    ("I run five kilometres every Sunday morning along the river.",
     ["what exercise do I do at the weekend", "my weekly jogging routine"],
     ["The river bank flooded in November.", "Sunday lunch is at my parents' house."]),
    ("My daughter Mia is learning to play the violin.",
     ["which instrument is my child studying", "what music lessons does my kid take"],
     ["The child seat must be fitted in the back.", "Music festival tickets go on sale Monday."]),
    ("I work as a nurse on the night shift at the city hospital.",
     ["what is my job", "where am I employed and when"],
     ["The night bus stops running at 2 am.", "Hospital parking costs five pounds an hour."]),
    ("I am vegetarian and do not eat fish either.",
     ["what is my diet", "do I eat meat"],
     ["Fish tanks need their water changed weekly.", "The meat thermometer is in the drawer."]),
    ("We are saving for a house deposit by the end of next year.",
     ["what are we putting money aside for", "our big financial goal"],
     ["The house plants need watering twice a week.", "Money transfers abroad take three days."]),
    ("I can't stand horror movies; comedies are my favourite.",
     ["what films do I enjoy", "which kind of cinema do I dislike"],
     ["The cinema on the corner shows films for a pound on Mondays.", "My favourite mug broke."]),
    ("My doctor told me to cut down on salt because of my blood pressure.",
     ["what health advice was I given", "why should I avoid salty food"],
     ["The doctor's office moved to the second floor.", "Road salt damages the car's paint."]),
    ("I speak Spanish fluently and a little Japanese.",
     ["which languages do I know", "what tongues can I talk in"],
     ["The Spanish restaurant is closed on Sundays.", "I know the way to the airport."]),
    ("My partner's name is Sam and we met at university.",
     ["who is my significant other", "how did I meet my spouse"],
     ["University fees are due in September.", "The meeting with the landlord went well."]),
    ("I get seasick, so I avoid ferries and boat trips.",
     ["why don't I travel by sea", "what happens to me on ships"],
     ["The ferry timetable changes in winter.", "Travel insurance covers lost luggage."]),
    ("My favourite colour is dark green.",
     ["which shade do I like best", "what colour should my gift be"],
     ["The green bin is collected on Thursdays.", "Gift cards expire after a year."]),
    ("I wake up at 5:30 to go to the gym before work.",
     ["when do I get out of bed", "what does my early morning look like"],
     ["The bed frame needs new screws.", "Work drinks are on Thursday evening."]),
    ("Our cat Luna needs her thyroid pills twice a day.",
     ["what medicine does my pet take", "how often is the animal medicated"],
     ["Pills for my headache are in the bathroom cabinet.", "The day trip to the zoo was fun."]),
    ("I am learning Python to automate reports at work.",
     ["what programming am I studying", "which coding skill am I picking up"],
     ["We saw a python at the reptile house.", "Reports are due at the end of the quarter."]),
    ("I bank with a small credit union near my office.",
     ["where do I keep my money", "which financial institution do I use"],
     ["We had a picnic on the river bank.", "The office kitchen needs cleaning."]),
    ("My grandmother lives in a care home in Leeds.",
     ["where is my gran staying", "which elderly relative needs visits"],
     ["The home insurance renewal letter arrived.", "Care instructions for wool: hand wash only."]),
    ("I had my wisdom teeth removed in January.",
     ["what dental surgery did I have", "when was my operation at the dentist"],
     ["January sales start on Boxing Day.", "The surgery's phone line opens at eight."]),
    ("I want to visit Japan during cherry blossom season.",
     ["where do I dream of travelling", "my bucket list trip"],
     ["Cherry tomatoes are cheaper at the market.", "The travel adapter is in the drawer."]),
    ("My car is a grey 2016 hatchback that needs new brakes.",
     ["what vehicle do I drive", "which repairs does my car need"],
     ["Grey hair runs in the family.", "The brake lights of the bus were out."]),
    ("I volunteer at the food bank every other Saturday.",
     ["what charity work do I do", "how do I help the community"],
     ["The food bank account statement came in the post.", "Community centre yoga starts at ten."]),
    ("My son Leo is afraid of the dark and needs a night light.",
     ["what is my boy scared of", "why does my kid sleep with a lamp on"],
     ["Dark chocolate is on the shopping list.", "The lamp in the hall needs a new bulb."]),
    ("I prefer email over phone calls for work matters.",
     ["how should colleagues contact me", "my preferred way to be reached"],
     ["The phone bill went up by ten pounds.", "Contact lenses need replacing monthly."]),
    ("I have a mortgage with fixed interest until 2027.",
     ["what kind of home loan do I have", "when does my rate change"],
     ["Interest in the book club has dropped.", "The loan of the ladder to the neighbour."]),
    ("I play five-a-side football on Wednesday nights.",
     ["what sport do I play", "what do I do midweek in the evening"],
     ["Football tickets for the final sold out.", "Night-time roadworks on the bypass."]),
    ("I need eight hours of sleep or I get migraines.",
     ["what triggers my headaches", "how much rest do I need"],
     ["The sleep mode on the laptop drains the battery.",
      "Rest stops on the motorway are closed."]),
    ("We are expecting our second baby in October.",
     ["is my family growing", "when is the new child due"],
     ["The baby shower gift for Anna is wrapped.", "October half-term dates are out."]),
    ("I always forget where I park, so I photograph the level sign.",
     ["how do I remember my parking spot", "trick for finding the car"],
     ["The park is closed for tree surgery.", "Photograph the receipts for expenses."]),
    ("My landlord allows pets but not smoking in the flat.",
     ["what are the rules of my rental", "can I smoke at home"],
     ["Smoking area is behind the warehouse.", "The rental car must be returned full."]),
    ("I am colour blind and mix up red and green.",
     ["do I have trouble seeing some colours", "my eyesight condition"],
     ["The red wine stain would not come out.", "Eyesight test vouchers are in the drawer."]),
    ("I keep my passport in the top drawer of the desk.",
     ["where are my travel documents", "where did I put my ID for flying"],
     ["The desk lamp flickers.", "Travel documents for the trip to Oslo were emailed."]),
    ("My favourite meal is my mum's lamb stew.",
     ["what dish do I love most", "what should be cooked for my birthday dinner"],
     ["Lamb prices went up at the butcher.", "The dinner party is cancelled."]),
    ("I am training for a marathon in April.",
     ["what race am I preparing for", "my long-distance running goal"],
     ["Training on the new software is in April.", "The race track is closed for repairs."]),
    ("I have two brothers, both older than me.",
     ["how many siblings do I have", "am I the youngest in my family"],
     ["The brothers' restaurant opens next week.", "Family photo frames are on sale."]),
]
# fmt: on

FIRST = ["Ana", "Bilal", "Chen", "Dara", "Elif", "Farah", "Goran", "Hana", "Imre", "Jonas",
         "Kemal", "Lior", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Soren", "Tomas",
         "Ulla", "Viktor", "Wanjiru", "Xavier", "Yusuf", "Zofia"]  # fmt: skip
LAST = ["Okonkwo", "Lindqvist", "Haddad", "Moreau", "Kowalski", "Tanaka", "Oyelaran", "Brennan",
        "Castellano", "Dimitriou", "Eriksen", "Fitzgerald", "Gallagher", "Horvath", "Ivanova",
        "Jablonski", "Kaur", "Laurent", "Mbeki", "Novak"]  # fmt: skip
ROLES = ["dentist", "accountant", "plumber", "electrician", "lawyer", "physiotherapist",
         "landlord", "mechanic", "tutor", "vet"]  # fmt: skip
GOODS = ["standing desk", "office chair", "monitor arm", "desk lamp", "keyboard", "webcam",
         "headset", "laptop stand", "bookshelf", "printer"]  # fmt: skip
ISSUES = ["VPN drops every hour", "printer shows a paper jam", "laptop fan is loud",
          "email sync fails", "screen flickers", "cannot log in to the portal",
          "backup job times out", "wifi is slow in the meeting room"]  # fmt: skip
DEVICES = ["card reader", "thermostat", "dishwasher", "router", "washing machine", "boiler"]
MEANINGS = ["lost power", "needs a firmware update", "has a blocked filter", "overheated",
            "cannot reach the server", "has a door sensor fault"]  # fmt: skip
FILLER = [
    "Remember to buy {a} and {b} on the way home.",
    "The {a} meeting moved to {day}.",
    "{day}: call about the {a} and the {b}.",
    "Idea for the weekend: {a} then {b}.",
    "Note from {day}: the {a} is fine, check the {b} later.",
]
WORDS = ["milk", "bread", "budget", "garden", "printer", "project", "dentist", "invoice",
         "holiday", "laundry", "paint", "batteries", "tickets", "school", "recycling",
         "neighbour", "kitchen", "roof", "bicycle", "library"]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def build_store(seed: int = SEED) -> dict[str, Any]:
    """The store set: memories, and queries split by fact into ``tune`` and ``held``."""
    rng = random.Random(seed * 1000 + 1)
    memories: list[dict[str, str]] = []
    queries: list[dict[str, Any]] = []  # with "group": queries of one group share a half

    def add(text: str) -> str:
        key = f"m{len(memories):05d}"
        memories.append({"key": key, "text": text})
        return key

    for f, (fact, asks, decoys) in enumerate(FACTS):
        key = add(fact)
        for d in decoys:
            add(d)
        for ask in asks:
            kind = (
                "distractor"
                if any(w in d.lower() for d in decoys for w in _content(ask))
                else "paraphrase"
            )
            queries.append({"query": ask, "key": key, "kind": kind, "group": f"fact{f}"})
    # Exact tokens: hundreds of records that differ only in their id.
    numbers = rng.sample(range(10_000, 99_999), 500)
    for i, n in enumerate(numbers[:300]):
        good, day = rng.choice(GOODS), rng.choice(DAYS)
        key = add(f"Order {n} for the {good} was shipped on {day}.")
        if i % 3 == 0:
            q = rng.choice(
                [
                    f"where is order {n}",
                    f"has {n} shipped yet",
                    f"which day did order {n} go out",
                    f"what did I buy in order {n}",
                    f"{n}",
                    f"remind me about {n} please",
                ]
            )
            queries.append({"query": q, "key": key, "kind": "exact", "group": f"order{n}"})
    for i, n in enumerate(numbers[300:460]):
        issue = rng.choice(ISSUES)
        key = add(f"Ticket INC-{n}: {issue}; IT says a fix is coming.")
        if i % 3 == 0:
            q = rng.choice(
                [
                    f"status of INC-{n}",
                    f"what was ticket INC-{n} about",
                    f"any news on inc-{n}",
                    f"INC-{n}",
                    f"my colleague asked about {n} yesterday",
                ]
            )
            queries.append({"query": q, "key": key, "kind": "exact", "group": f"inc{n}"})
    for i in range(120):
        code = f"E{rng.randrange(1000, 9999)}{rng.choice('ABCDEFGH')}"
        device, meaning = rng.choice(DEVICES), rng.choice(MEANINGS)
        key = add(f"Error {code} on the {device} means it {meaning}.")
        if i % 3 == 0:
            q = rng.choice(
                [
                    f"what does {code} mean",
                    f"the {device} shows {code.lower()}",
                    f"fix for error {code}",
                    f"{code}",
                    f"the screen just says {code}, help",
                ]
            )
            queries.append({"query": q, "key": key, "kind": "exact", "group": f"err{code}"})
    people = [(fi, la) for fi in FIRST for la in LAST]
    rng.shuffle(people)
    for i, (fi, la) in enumerate(people[:200]):
        role = rng.choice(ROLES)
        key = add(f"{fi} {la} is our {role}; the number is in the phone book.")
        if i % 3 == 0:
            q = rng.choice(
                [
                    f"who is {fi} {la}",
                    f"what does {fi} {la} do for us",
                    f"how do I know {la.lower()} {fi.lower()}",
                ]
            )
            queries.append({"query": q, "key": key, "kind": "exact", "group": f"who{fi}{la}"})
    # Ids inside notes about anything: the note's other words decide its cosine, not the id.
    refs = rng.sample(range(100_000, 999_999), 150)
    for i, n in enumerate(refs):
        a, b, c, d = rng.sample(WORDS, 4)
        note = " ".join(
            rng.choice(FILLER).format(a=x, b=y, day=rng.choice(DAYS)) for x, y in ((a, b), (c, d))
        )
        key = add(f"{note} (ref R-{n})")
        if i % 3 == 0:
            q = rng.choice([f"R-{n}", f"what was note R-{n} about", f"find the note ref r-{n}"])
            queries.append({"query": q, "key": key, "kind": "exact", "group": f"ref{n}"})
    while len(memories) < 2200:
        a, b = rng.sample(WORDS, 2)
        add(rng.choice(FILLER).format(a=a, b=b, day=rng.choice(DAYS)))
    groups = sorted({q["group"] for q in queries})
    rng.shuffle(groups)
    held = set(groups[::2])
    sets: dict[str, list[dict[str, Any]]] = {"tune": [], "held": []}
    for q in queries:
        sets["held" if q["group"] in held else "tune"].append(
            {k: v for k, v in q.items() if k != "group"}
        )
    return {"memories": memories, **sets}


def _content(text: str) -> set[str]:
    stop = {"what", "do", "i", "my", "is", "the", "a", "of", "how", "which", "to", "does",
            "am", "for", "in", "at", "me", "be", "should", "can't", "did", "where", "when",
            "we", "our", "why", "on", "kind", "have", "are", "with"}  # fmt: skip
    return {w for w in text.lower().replace("?", "").split() if w not in stop}


def write_store(directory: Path = DATA, seed: int = SEED) -> list[Path]:
    built = build_store(seed)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name in ("memories", "tune", "held"):
        path = directory / f"store_{name}.json"
        path.write_text(json.dumps(built[name], indent=0, ensure_ascii=False) + "\n")
        out.append(path)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    for path in write(target) + write_store(target):
        print(path)

"""Write the labelled retrieval sets in bench/data/ (deterministic: same seed, same files).

    python bench/make_retrieval_sets.py            # rewrites bench/data/{routing,store}_*.json
                                                   # and bench/data/{slices,facts}_*.json

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


# -- conversation slices ---------------------------------------------------------------------
#
# Multi-agent transcripts (user, planner, researcher, writer, critic, ...) where the LAST
# message is an instruction whose work needs ONE earlier message (``needed``) that shares few
# words with the task: an allergy, a deadline moved, a code, a person's constraint. Around
# it: the user's brief and the planner's plan, on-topic chatter that repeats the task's words
# (what a slice built from the task ranks first), a decoy that names the same person or
# thing as the needed message but does not hold the fact, and "near" messages on the same
# sub-topic as the instruction that do not hold it either. Kinds:
#
# * ``entity``   - the instruction names a person or place the needed message names;
# * ``number``   - the instruction cites a number or code the needed message holds;
# * ``semantic`` - no shared name or number: only the meaning links them.
#
# Split by scenario (both variants of a scenario fall in one half), written to
# ``slices_tune.json`` (for choosing weights) and ``slices_held.json`` (for reporting).

NAMES = [
    "Marta",
    "Okafor",
    "Ines",
    "Tanaka",
    "Lindqvist",
    "Priya",
    "Dubois",
    "Kowalski",
    "Amara",
    "Reyes",
    "Novak",
    "Haruki",
]
MONTHS_S = ["May", "June", "September", "October", "November"]

# (kind, topic, task, needed (sender, text), decoy (sender, text),
#  near [(sender, text)], instruction (sender, text)); {name} {n} {n2} {code} {month} filled.
# fmt: off
Said = tuple[str, str]  # (sender, text)
SCENARIOS: list[tuple[str, str, str, Said, Said, list[Said], Said]] = [
    ("entity", "the Lisbon sales offsite",
     "Organise the three-day sales offsite in Lisbon for 40 people in {month}: pick a venue, "
     "block hotel rooms, draft the agenda and keep the budget defensible to finance.",
     ("user", "One thing I forgot: {name} uses a wheelchair, so whatever we book needs "
              "step-free entrances and working lifts."),
     ("researcher", "{name} confirmed she will present the pipeline review on the second morning."),
     [("researcher", "Venue shortlist: a riverside palace with two ballrooms, a converted "
                     "warehouse in Marvila, and a hotel conference floor near the airport."),
      ("critic", "The warehouse is the cheapest room hire but the acoustics were poor in "
                 "reviews.")],
     ("planner", "Writer: send {name} the venue shortlist and tell her which of the three "
                 "places she can actually get around in.")),
    ("entity", "the client dinner in Milan",
     "Plan the client appreciation dinner in Milan on the last night of the fair: restaurant, "
     "menu, seating plan and transport back to the hotels.",
     ("user", "Heads-up from the account team: Dr. {name} cannot eat shellfish, even traces "
              "make him seriously ill."),
     ("researcher", "Dr. {name} lands at Linate at 17:40 and will come straight from the airport."),
     [("researcher", "Two restaurants can seat 24 in a private room: a Sicilian seafood place "
                     "and a Lombard trattoria."),
      ("writer", "Draft tasting menu: crudo, risotto alla milanese, veal, tiramisu.")],
     ("planner", "Writer: finalise the menu for Dr. {name}'s table and flag any course the "
                 "kitchen has to change for him.")),
    ("number", "the warehouse migration",
     "Move the company's inventory system from the old on-premise warehouse database to the "
     "cloud platform this quarter without stopping shipments.",
     ("researcher", "The carrier's API rejects any batch larger than {n} records per call, and "
                    "they throttle us for an hour if we try."),
     ("critic", "Ticket {code} is about the label printer drivers, unrelated to the batch jobs."),
     [("planner", "Cut-over plan: freeze writes Friday night, copy, verify counts, reopen Sunday."),
      ("researcher", "The sync job currently pushes everything changed since midnight in one go.")],
     ("planner", "Engineer: size the nightly sync so the {n}-record calls never get us "
                 "throttled; write the chunking rule in the runbook.")),
    ("semantic", "the rebrand launch deck",
     "Prepare the launch deck for the rebrand: new logo story, product screenshots, pricing "
     "slide and a closing slide for the press.",
     ("user", "Please remember the chairman is colour-blind between red and green; he "
              "complained about the last quarterly charts."),
     ("writer", "The chairman opens the launch event with a five-minute welcome."),
     [("designer", "Slide template v2 uses the new serif for titles and a light grey background."),
      ("critic", "Screenshots on slides 6-8 are from the old app build; retake them.")],
     ("planner", "Designer: pick the palette for the charts on slides 4 and 5 so every "
                 "series stays distinguishable for everyone on the board.")),
    ("number", "the grant application",
     "Write the research grant application for the soil microbiome project: aims, methods, "
     "budget justification and the data management plan.",
     ("user", "The funder changed the rules this year: the whole narrative must stay under "
              "{n} words or the portal rejects it."),
     ("researcher", "Reference {code} is the 2019 field study we cite for the sampling protocol."),
     [("writer", "Draft aims: map microbial diversity across 30 farms, link it to yield, "
                 "release an open dataset."),
      ("critic", "The methods section repeats the sampling design twice; merge the paragraphs.")],
     ("planner", "Editor: trim the narrative so it clears the {n}-word cap; cut repetition "
                 "before content.")),
    ("entity", "the onboarding of new hires",
     "Set up the onboarding week for the six engineers joining in {month}: laptops, accounts, "
     "buddies, first tasks and a welcome lunch.",
     ("user", "{name} starts remotely from Warsaw and will only be in the office for the "
              "second week, her visa appointment is in the first."),
     ("researcher", "{name} asked for a Linux laptop with 32 GB of memory."),
     [("planner", "Buddy pairs: each newcomer gets one senior engineer from their own team."),
      ("writer", "Welcome lunch is booked for Monday at noon at the canteen upstairs.")],
     ("planner", "Coordinator: build {name}'s first-week schedule and tell her buddy where "
                 "and when to meet her.")),
    ("semantic", "the quarterly board report",
     "Draft the Q3 board report: revenue, churn, hiring, product milestones and the risks "
     "section the auditors asked for.",
     ("researcher", "Our largest customer told the account manager they are evaluating a "
                    "competitor and may not renew in January."),
     ("writer", "The largest customer's logo will appear on the case study page."),
     [("analyst", "Revenue grew 12 percent quarter on quarter, churn fell to 2.1 percent."),
      ("critic", "The hiring table double-counts the two contractors.")],
     ("planner", "Writer: complete the risks section with anything that could hit next "
                 "year's recurring revenue.")),
    ("number", "the conference travel",
     "Book travel for the team of eight going to the robotics conference in Montreal: "
     "flights, hotel, visas and per diems.",
     ("user", "Finance says the hard cap is {n} euros per person for flights, anything above "
              "needs the CFO's signature."),
     ("researcher", "Booking reference {code} is the hotel deposit, already paid."),
     [("researcher", "Direct flights from Frankfurt run daily; connections via Reykjavik "
                     "are cheaper."),
      ("writer", "Visa: the ETA forms are done for everyone except the two interns.")],
     ("planner", "Booker: pick flights for all eight and check each fare against the "
                 "{n}-euro limit before you pay.")),
    ("entity", "the office move",
     "Coordinate the move of the Berlin office to the new building in {month}: movers, desks, "
     "network, parking and the farewell party for the old place.",
     ("user", "{name} in accounting must keep the fireproof safe within reach at all times; "
              "insurance requires it."),
     ("researcher", "{name} volunteered to organise the farewell party playlist."),
     [("planner", "Floor plan: sales on the third floor, engineering on the fourth, finance "
                  "on the second."),
      ("researcher", "The movers need the crate count by Wednesday.")],
     ("planner", "Facilities: assign {name}'s desk in the new finance area and tell the "
                 "movers what has to go next to it.")),
    ("semantic", "the mobile app release",
     "Ship version 4.2 of the mobile app: finish the offline mode, fix the crash on login, "
     "update the store screenshots and write the release notes.",
     ("critic", "Legal flagged that the new location feature cannot go live in Germany "
                "until the data protection review is signed."),
     ("writer", "Germany is our second-largest market by downloads."),
     [("engineer", "Offline mode passes QA on Android; iOS still loses drafts on background kill."),
      ("researcher", "The login crash is a race in the token refresh; fix is in review.")],
     ("planner", "Release manager: set the rollout countries and phases for 4.2 in the store "
                 "consoles.")),
    ("number", "the data pipeline outage",
     "Write the post-mortem for last night's data pipeline outage: timeline, root cause, "
     "impact on customers and the follow-up actions.",
     ("engineer", "The queue filled up at exactly {n} messages, which is the default limit "
                  "nobody had ever raised."),
     ("researcher", "Incident {code} was opened by the on-call at 02:14."),
     [("engineer", "Consumers restarted at 03:05 and caught up by 04:40."),
      ("writer", "Customer impact: dashboards showed stale numbers for about three hours.")],
     ("planner", "Writer: state the root cause in one sentence and say why {n} was the "
                 "number that broke.")),
    ("entity", "the wedding planning",
     "Help me plan my sister's wedding in the Douro valley in {month}: venue, guest "
     "accommodation, catering and the day's schedule.",
     ("user", "Grandma {name} is 94 and can't be out after nine in the evening, she gets "
              "very tired."),
     ("researcher", "Grandma {name} sent her RSVP by post, she is coming with two cousins."),
     [("planner", "Schedule draft: ceremony at 17:00, dinner 19:30, first dance 21:30, "
                  "party until 02:00."),
      ("researcher", "The quinta can host the dinner on the terrace if the weather holds.")],
     ("planner", "Wedding planner: adjust the evening schedule so grandma {name} sees the moments "
                 "she cares about.")),
    ("semantic", "the security audit",
     "Prepare the company for the ISO 27001 surveillance audit next month: evidence folders, "
     "policy reviews, access reviews and a mock interview for team leads.",
     ("user", "The auditor last year wrote us up because nobody could show the backup "
              "restore tests; make sure that does not happen again."),
     ("writer", "The auditor's office is in Rotterdam."),
     [("researcher", "Access reviews are done for 14 of 16 systems."),
      ("critic", "The policy index still links to the 2021 acceptable-use policy.")],
     ("planner", "Compliance lead: list the evidence we still need to collect, starting with "
                 "what failed last time.")),
    ("number", "the pricing change",
     "Roll out the new pricing for the team plan: update the website, notify existing "
     "customers, change the billing system and brief the sales team.",
     ("user", "Contracts signed before {month} are grandfathered at the old price for {n2} "
              "months, that was promised in writing."),
     ("researcher", "Coupon {code} is the spring promotion, expiring at the end of the month."),
     [("writer", "Website copy: the team plan now includes SSO and audit logs."),
      ("analyst", "About a third of team accounts would pay more under the new price.")],
     ("planner", "Billing engineer: set the price-change date per account and honour the "
                 "{n2}-month promise.")),
    ("entity", "the podcast season",
     "Produce season two of the company podcast: eight episodes, guests, recording schedule, "
     "editing and the launch campaign.",
     ("researcher", "{name}'s publicist said any episode with her must be approved by their "
                    "legal team before it airs."),
     ("writer", "{name} wrote a bestselling book on remote leadership last year."),
     [("planner", "Recording slots: Tuesdays and Thursdays at the studio on Canal Street."),
      ("editor", "Episode one is edited; loudness normalised to -16 LUFS.")],
     ("planner", "Producer: put {name}'s episode into the release calendar with every step "
                 "it has to pass before publishing.")),
    ("semantic", "the customer survey",
     "Run the annual customer satisfaction survey: questionnaire, sample, sending, analysis "
     "and a summary for the leadership meeting.",
     ("user", "Please don't email the customers in the healthcare segment directly, their "
              "contracts forbid unsolicited contact."),
     ("analyst", "Healthcare is our fastest-growing segment this year."),
     [("researcher", "Last year's response rate was 18 percent with two reminders."),
      ("writer", "Questionnaire v3: 14 questions, NPS first, open question last.")],
     ("planner", "Ops: build the send list and the invitation channel for each segment.")),
    ("number", "the kitchen renovation",
     "Plan the renovation of our kitchen: layout, cabinets, appliances, contractor quotes and "
     "a timeline around the school holidays.",
     ("user", "The wall between kitchen and dining room is load-bearing; the engineer said "
              "any opening wider than {n} centimetres needs a steel beam."),
     ("researcher", "Quote {code} from the second contractor covers tiling only."),
     [("designer", "Layout B puts the island where the dining table is now."),
      ("researcher", "Induction hobs from three brands fit the 80 cm cut-out.")],
     ("planner", "Designer: size the pass-through to the dining room in layout B; stay "
                 "under {n} cm or price the beam in.")),
    ("entity", "the charity run",
     "Organise the company charity 10k in the park in {month}: permits, route, sign-ups, "
     "sponsors, water stations and medals.",
     ("user", "{name} from the council said the east gate stays locked on Sundays, only the "
              "north and west gates open."),
     ("researcher", "{name} from the council also runs the park's summer concerts."),
     [("planner", "Route idea: two laps around the lake, start and finish by the bandstand."),
      ("researcher", "Three sponsors have confirmed water and bananas.")],
     ("planner", "Route lead: place the start line and the water stations, and check the "
                 "access with {name} in mind.")),
    ("semantic", "the hiring of a data lead",
     "Hire a head of data: job description, sourcing, interview loop, take-home exercise and "
     "the offer.",
     ("user", "The budget only works if the person is based in Portugal or Spain; we "
              "cannot sponsor relocation this year."),
     ("researcher", "Spain has a strong data community in Barcelona."),
     [("writer", "Job description draft: 8+ years, led a team of five, strong SQL and "
                 "experimentation."),
      ("critic", "The take-home is too long; cap it at three hours.")],
     ("planner", "Recruiter: write the sourcing brief and say which candidates to skip.")),
    ("number", "the solar installation",
     "Get our house ready for solar panels: roof survey, panel layout, inverter, battery and "
     "the grid connection paperwork.",
     ("researcher", "The grid operator caps home export at {n} kilowatts without a "
                    "three-phase upgrade."),
     ("user", "The survey reference is {code}, keep it for the paperwork."),
     [("designer", "South roof fits 14 panels, the west roof 6 more."),
      ("researcher", "Battery options: 5 kWh or 10 kWh, the larger adds two months to payback.")],
     ("planner", "Installer: choose the inverter size for 20 panels and keep export under "
                 "{n} kW.")),
    ("entity", "the book translation",
     "Manage the translation of our novel into German: translator, schedule, editing, cover "
     "and the launch at the Frankfurt fair.",
     ("user", "{name}, the author, insists the dialect in chapter seven stays untranslated; "
              "it is in the contract."),
     ("researcher", "{name} will sign books at the fair on Friday afternoon."),
     [("editor", "Chapters one to six are translated; glossary has 120 entries."),
      ("critic", "The translator uses two spellings for the village name.")],
     ("planner", "Editor: brief the translator on chapter seven and what {name} expects "
                 "from it.")),
    ("semantic", "the school trip",
     "Organise the year-nine school trip to the science museum: bus, permission slips, "
     "packed lunches, supervision rota and a worksheet.",
     ("user", "Two pupils carry adrenaline pens; every adult on the trip must know where "
              "they are kept."),
     ("researcher", "The museum has a first-aid room next to the cloakroom."),
     [("planner", "Supervision: one adult per eight pupils, groups colour-coded."),
      ("writer", "Worksheet draft: ten questions, mostly on the space gallery.")],
     ("planner", "Coordinator: write the briefing sheet every supervising adult gets on the "
                 "morning of the trip.")),
    ("number", "the fleet replacement",
     "Replace the delivery van fleet with electric vans over the next year: models, "
     "charging, financing and driver training.",
     ("researcher", "Depot chargers share one supply; the electrician says no more than {n} "
                    "vans can charge at the same time overnight."),
     ("analyst", "Van {code} had the highest maintenance cost last year."),
     [("researcher", "Two models have the range for the rural routes; one has a bigger load bay."),
      ("writer", "Driver training: a half-day course per driver, in groups of six.")],
     ("planner", "Ops: draft the overnight charging rota for all vans, never more than {n} "
                 "on charge at once.")),
    ("entity", "the museum exhibition",
     "Curate the spring exhibition on Baltic photography: loans, catalogue, wall texts, "
     "lighting and the opening night.",
     ("researcher", "The {name} estate lends the prints only if the light stays under 50 lux, "
                    "it is written in the loan agreement."),
     ("writer", "The {name} estate also manages the photographer's archive in Tallinn."),
     [("designer", "Room 3 has the tall walls; we hang the large-format prints there."),
      ("critic", "Wall texts are too long; 80 words each at most.")],
     ("planner", "Lighting designer: set the lighting plan for room 3 where the {name} prints "
                 "hang.")),
]
# fmt: on

SLICE_FILLERS: list[tuple[str, str]] = [
    (
        "planner",
        "Plan for {topic}: research the options first, then draft, then a review "
        "round before anything goes to the user.",
    ),
    (
        "researcher",
        "I compared {m} options for {topic}; the second one is the best value, "
        "the others are too far out or fully booked.",
    ),
    (
        "writer",
        "First draft for {topic} is in the shared folder; it follows the plan's "
        "structure and leaves the open points marked.",
    ),
    (
        "critic",
        "Reviewed the draft for {topic}: the structure is fine, the second section "
        "needs sources and the conclusion is too long.",
    ),
    (
        "planner",
        "Status on {topic}: research is done, the draft is in review, {m} open points remain.",
    ),
    (
        "researcher",
        "More on {topic}: prices went up about {pct} percent since last year, so "
        "the first estimate of {amount} euros is probably low.",
    ),
    (
        "writer",
        "Revised the draft for {topic} after the review; sources added, conclusion cut in half.",
    ),
    ("user", "Thanks, this is going in the right direction. Keep me posted on {topic}."),
    (
        "critic",
        "Second review of {topic}: better, but the numbers in the summary and the "
        "table do not match.",
    ),
    (
        "planner",
        "Next steps for {topic}: confirm the bookings by {day}, then send the final version "
        "for sign-off.",
    ),
    (
        "researcher",
        "Checked the timeline for {topic}: everything fits if decisions are made "
        "by the end of the week.",
    ),
    (
        "writer",
        "Summary for the user on {topic}: what is decided, what is pending and what "
        "needs their approval.",
    ),
    (
        "user",
        "Can we keep the costs for {topic} a bit lower? I don't want to go back to finance twice.",
    ),
    (
        "analyst",
        "Cost breakdown for {topic}: the biggest item is about half of the {amount} euros, "
        "the rest is spread over {m} small items.",
    ),
    ("critic", "A risk on {topic}: we depend on one supplier and have no backup option."),
    (
        "planner",
        "Re-planned {topic} around the new estimate: the research step is shorter, "
        "the review step stays.",
    ),
    # Constraints, numbers and names are everywhere in a real transcript, not only in the
    # message a later turn needs: these carry them without being what any instruction needs.
    (
        "user",
        "Don't send anything about {topic} to the whole mailing list yet; {other} wants to "
        "read it first.",
    ),
    (
        "critic",
        "We cannot reuse last year's material for {topic}; the figures changed and the "
        "old template is retired.",
    ),
    (
        "planner",
        "No decisions on {topic} before {day}: finance has not closed the budget round.",
    ),
    (
        "researcher",
        "Reference {ref} from {other}'s team covers most of {topic}; it is not public, so "
        "quote it only internally.",
    ),
    (
        "analyst",
        "Ticket {ref} tracks the open questions on {topic}; {m} of them are still unanswered.",
    ),
    (
        "writer",
        "I won't touch the introduction of {topic} again until {other} has signed off the "
        "structure.",
    ),
    (
        "user",
        "Please never copy the external partners on internal threads about {topic}.",
    ),
    (
        "critic",
        "The draft for {topic} has {m} typos and nobody has checked the links yet.",
    ),
    (
        "planner",
        "{other} is off on {day}, so the review of {topic} moves to the day after; nothing "
        "else changes.",
    ),
    (
        "researcher",
        "Three suppliers quoted for {topic}: {amount}, {amount2} and a third that did not "
        "answer in time.",
    ),
]


def _slice_fill(text: str, slots: dict[str, Any]) -> str:
    return text.format(**slots)


EXTRA_TUNE_VARIANTS = 2


def build_slices(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The slices set: two transcripts per scenario (and `EXTRA_TUNE_VARIANTS` more for the
    tune half's), split by scenario into ``tune`` and
    ``held``. Each transcript: ``messages`` (sender, text), ``task``, ``agent`` (who the last
    message instructs), ``needed`` (index of the message its work needs), ``kind``."""
    rng = random.Random(seed * 1000 + 1)  # its own stream: the routing set stays as it was
    order = list(range(len(SCENARIOS)))
    by_kind: dict[str, list[int]] = {}
    for i in order:
        by_kind.setdefault(SCENARIOS[i][0], []).append(i)
    half: dict[int, str] = {}
    for kind in sorted(by_kind):
        ids = by_kind[kind][:]
        rng.shuffle(ids)
        for j, i in enumerate(ids):
            half[i] = "tune" if j % 2 == 0 else "held"
    sets: dict[str, list[dict[str, Any]]] = {"tune": [], "held": []}
    # More draws of the tune half's scenarios (their own stream, so the held half stays as
    # it was): weights fitted to two draws of each scenario fitted their slots and filler
    # order as much as the scenario.
    extra = random.Random(seed * 1000 + 2)
    jobs = [(i, variant, rng) for i in range(len(SCENARIOS)) for variant in range(2)]
    jobs += [
        (i, variant, extra)
        for i in range(len(SCENARIOS))
        if half[i] == "tune"
        for variant in range(2, 2 + EXTRA_TUNE_VARIANTS)
    ]
    for i, variant, draw in jobs:
        kind, topic, task, needed, decoy, near, instruction = SCENARIOS[i]
        slots = {
            "name": draw.choice(NAMES),
            "month": draw.choice(MONTHS_S),
            "n": str(draw.choice([250, 400, 500, 1200, 1500, 2000, 3000, 5000, 6, 8, 120])),
            "n2": str(draw.choice([6, 12, 18, 24])),
            "code": f"{draw.choice('ABKRTX')}{draw.choice('ABKRTX')}-{draw.randrange(100, 9999)}",
            "topic": topic,
        }
        # The fillers' own names, numbers and codes: never the needed message's.
        slots["other"] = draw.choice([n for n in NAMES if n != slots["name"]])
        slots["day"] = draw.choice(DAYS[:5])
        slots["m"] = str(draw.choice([3, 4, 5, 7, 9]))
        slots["pct"] = str(draw.choice([10, 15, 20, 30]))
        slots["amount"], slots["amount2"] = (
            str(a) for a in draw.sample([1800, 2600, 3400, 4200, 7800, 9600], 2)
        )
        slots["ref"] = f"{draw.choice('CDMPQ')}{draw.choice('CDMPQ')}-{draw.randrange(100, 9999)}"
        length = draw.randrange(12, 31)
        body: list[tuple[str, str]] = [("user", task), ("planner", SLICE_FILLERS[0][1])]
        middle = [needed, decoy, *near]
        fillers: list[tuple[str, str]] = []
        while len(middle) < length - 3:  # each filler once before any comes back
            if not fillers:
                fillers = SLICE_FILLERS[1:]
                draw.shuffle(fillers)
            middle.append(fillers.pop())
        # The needed message early (the later turn must reach back), the rest shuffled.
        rest = middle[1:]
        draw.shuffle(rest)
        at = draw.randrange(0, min(4, len(rest)))
        middle = rest[:at] + [middle[0]] + rest[at:]
        body += middle
        body.append(instruction)
        messages = [{"sender": s, "text": _slice_fill(t, slots)} for s, t in body]
        agent = instruction[1].split(":")[0].lower().replace(" ", "_")
        sets[half[i]].append(
            {
                "id": f"s{i:02d}v{variant}",
                "scenario": i,
                "kind": kind,
                "task": messages[0]["text"],
                "agent": agent,
                "needed": 2 + at,
                "messages": messages,
            }
        )
    return sets


def write_slices(directory: Path = DATA, seed: int = SEED) -> list[Path]:
    """Write ``slices_tune.json`` and ``slices_held.json``."""
    built = build_slices(seed)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for half in ("tune", "held"):
        path = directory / f"slices_{half}.json"
        path.write_text(json.dumps(built[half], indent=1, ensure_ascii=False) + "\n")
        out.append(path)
    return out


# -- fact matcher ----------------------------------------------------------------------------
#
# Pairs of facts written "subject / attribute: value", as two agents would record them, each
# labelled ``same`` (one fact in other words) or not. Kinds:
#
# * ``key paraphrase``   (same) - the subject's id in another form ("customer 42" / "cust-42")
#   and/or the attribute in other words ("plan" / "subscription plan"), the same value;
# * ``value paraphrase`` (same) - the same key, the value restated ("shipped via UPS on
#   Monday" / "The order was shipped via UPS on Monday.");
# * ``shared words``     (different) - the same subject, another attribute that shares words
#   with it ("shipping address" / "billing address"), the same value;
# * ``other id``         (different) - another subject of the same kind ("order 42" / "order
#   43"), everything else the same or paraphrased;
# * ``other value``      (different) - the same key, a value that differs in substance
#   ("premium" / "basic", "has shipped" / "has not shipped", "Tuesday" / "Thursday").
#
# Split by attribute concept (every pair about one concept falls in one half), written to
# ``facts_tune.json`` (for choosing the matcher's weights) and ``facts_held.json``.

SUBJECTS: dict[str, list[str]] = {
    # kind -> forms of one id, "{n}" the number
    "customer": ["customer {n}", "cust-{n}", "customer #{n}", "Customer {n}"],
    "order": ["order {n}", "ord-{n}", "order #{n}", "Order no. {n}"],
    "account": ["account {n}", "acct-{n}", "account #{n}", "Account {n}"],
    "ticket": ["ticket {n}", "tkt-{n}", "ticket #{n}", "Ticket {n}"],
    "invoice": ["invoice {n}", "inv-{n}", "invoice #{n}", "Invoice {n}"],
}
# fmt: off
CONCEPTS: list[dict[str, Any]] = [
    # subject kinds; attribute in several words; attributes sharing a word but not the meaning;
    # values as (one value in several words) and values differing in substance from it
    {"kind": ["customer", "account"], "names": ["plan", "subscription plan", "plan tier"],
     "others": ["payment plan", "plan limit"],
     "values": [["premium", "Premium", "the premium tier"], ["basic", "Basic", "basic tier"],
                ["team", "Team", "the team plan"]]},
    {"kind": ["customer", "order"], "names": ["shipping address", "delivery address",
                                              "ship-to address"],
     "others": ["billing address", "return address"],
     "values": [["12 Elm Street, Leeds", "12 Elm St, Leeds", "12 Elm Street in Leeds"],
                ["4 Harbour Road, Cork", "4 Harbour Rd, Cork", "4 Harbour Road in Cork"],
                ["88 Mill Lane, York", "88 Mill Ln, York", "88 Mill Lane in York"]]},
    {"kind": ["customer", "account"], "names": ["email", "email address", "e-mail"],
     "others": ["backup email", "email preferences"],
     "values": [["ana@example.com", "ana@example.com", "Ana@example.com"],
                ["ops@acme.io", "ops@acme.io", "OPS@acme.io"],
                ["lee.k@mail.org", "lee.k@mail.org", "Lee.K@mail.org"]]},
    {"kind": ["customer", "account"], "names": ["phone number", "phone", "telephone number"],
     "others": ["account number", "fax number"],
     "values": [["+44 20 7946 0018", "+44 20 7946 0018", "+44 (20) 7946 0018"],
                ["+1 415 555 0134", "+1 415 555 0134", "+1 (415) 555 0134"],
                ["+49 30 901820", "+49 30 901820", "+49 (30) 901820"]]},
    {"kind": ["order", "ticket"], "names": ["status", "current status", "state"],
     "others": ["payment status", "status page"],
     "values": [["shipped", "has shipped", "it has been shipped"],
                ["not shipped", "has not shipped", "it has not been shipped yet"],
                ["on hold", "is on hold", "currently on hold"]]},
    {"kind": ["invoice", "order"], "names": ["due date", "payment due date", "date due"],
     "others": ["start date", "delivery date"],
     "values": [["on Tuesday", "Tuesday", "due on Tuesday"],
                ["on Thursday", "Thursday", "due on Thursday"],
                ["on Friday", "Friday", "due on Friday"]]},
    {"kind": ["account", "ticket"], "names": ["owner", "account owner", "owned by"],
     "others": ["previous owner", "owner email"],
     "values": [["Alice Moreau", "Alice Moreau", "alice moreau"],
                ["Bob Tanaka", "Bob Tanaka", "bob tanaka"],
                ["Chen Novak", "Chen Novak", "chen novak"]]},
    {"kind": ["customer", "account"], "names": ["language", "preferred language",
                                                "language preference"],
     "others": ["language level", "interface language"],
     "values": [["Spanish", "spanish", "speaks Spanish"], ["German", "german", "speaks German"],
                ["Portuguese", "portuguese", "speaks Portuguese"]]},
    {"kind": ["order", "invoice"], "names": ["carrier", "shipping carrier", "courier"],
     "others": ["carrier fee", "backup carrier"],
     "values": [["shipped via UPS", "sent with UPS", "UPS"], ["shipped via DHL", "sent with DHL",
                "DHL"], ["shipped via FedEx", "sent with FedEx", "FedEx"]]},
    {"kind": ["ticket", "order"], "names": ["priority", "priority level", "urgency"],
     "others": ["priority queue", "priority fee"],
     "values": [["high", "High", "high priority"], ["low", "Low", "low priority"],
                ["urgent", "Urgent", "urgent priority"]]},
    {"kind": ["customer", "account"], "names": ["city", "home city", "town"],
     "others": ["city tax", "birth city"],
     "values": [["Lisbon", "lisbon", "lives in Lisbon"], ["Berlin", "berlin", "lives in Berlin"],
                ["Oslo", "oslo", "lives in Oslo"]]},
    {"kind": ["invoice", "customer"], "names": ["currency", "billing currency",
                                                 "payment currency"],
     "others": ["currency rate", "display currency"],
     "values": [["EUR", "euros", "paid in euros"], ["USD", "US dollars", "paid in dollars"],
                ["GBP", "pounds", "paid in pounds"]]},
]
# fmt: on


def _fact(subject: str, attribute: str, value: str) -> str:
    return f"{subject} / {attribute}: {value}"


def build_facts(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """The facts set: pairs labelled ``same``, split by concept into ``tune`` and ``held``."""
    rng = random.Random(seed * 1000 + 2)  # its own stream: the other sets stay as they were
    order = list(range(len(CONCEPTS)))
    rng.shuffle(order)
    half = {c: ("tune" if j % 2 == 0 else "held") for j, c in enumerate(order)}
    sets: dict[str, list[dict[str, Any]]] = {"tune": [], "held": []}
    for c, concept in enumerate(CONCEPTS):
        pairs: list[tuple[str, str, str, bool]] = []
        for _ in range(5):
            kind = rng.choice(concept["kind"])
            forms = SUBJECTS[kind]
            n = rng.randrange(10, 9999)
            other_n = n + rng.choice([1, -1, 10, 100])
            values = rng.choice(concept["values"])
            other_values = rng.choice([v for v in concept["values"] if v is not values])
            name, alias = rng.sample(concept["names"], 2)
            form, other_form = rng.sample(forms, 2)
            value, restated = rng.sample(values, 2)
            s1, s2 = form.format(n=n), other_form.format(n=n)
            pairs.append(("key paraphrase", _fact(s1, name, value), _fact(s2, alias, value), True))
            pairs.append(
                ("value paraphrase", _fact(s1, name, value), _fact(s1, name, restated), True)
            )
            pairs.append(
                (
                    "shared words",
                    _fact(s1, name, value),
                    _fact(s1, rng.choice(concept["others"]), value),
                    False,
                )
            )
            pairs.append(
                (
                    "other id",
                    _fact(s1, name, value),
                    _fact(rng.choice(forms).format(n=other_n), rng.choice([name, alias]), value),
                    False,
                )
            )
            pairs.append(
                (
                    "other value",
                    _fact(s1, name, value),
                    _fact(s1, rng.choice([name, alias]), rng.choice(other_values)),
                    False,
                )
            )
        for i, (kind, a, b, same) in enumerate(pairs):
            sets[half[c]].append(
                {
                    "id": f"f{c:02d}p{i:02d}",
                    "concept": c,
                    "kind": kind,
                    "a": a,
                    "b": b,
                    "same": same,
                }  # fmt: skip
            )
    return sets


def write_facts(directory: Path = DATA, seed: int = SEED) -> list[Path]:
    """Write ``facts_tune.json`` and ``facts_held.json``."""
    built = build_facts(seed)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for half in ("tune", "held"):
        path = directory / f"facts_{half}.json"
        path.write_text(json.dumps(built[half], indent=1, ensure_ascii=False) + "\n")
        out.append(path)
    return out


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA
    for path in write(target) + write_store(target) + write_slices(target) + write_facts(target):
        print(path)

"""tiny-r1 data: synthetic arithmetic with a step-by-step working.

Every problem is a question with a checkable integer answer. The model's reply
follows DeepSeek-R1's format: the chat template ends the prompt inside
"<think>\\n"; the reply is the working, "\\n</think>\\n\\n" and "\\boxed{N}".

The working is built so that every line depends only on the lines just above
it (a tiny model cannot count positions far back):

    4738+925            the numbers still to add (last digits first)
    8+5+0=13 r3 c1      last digits + carry = sum, result so far, new carry
    473+92              the same numbers without their last digits
    3+2+1=6 r63 c0
    ...
    so 5663             the result without leading zeros

Subtraction borrows ("7-9-0=-2 +10=8 r8 b1"); multiplication by one digit
carries like addition ("7*6+1=43 r38 c4"); a two-digit multiplier is two
one-digit products and an addition ("47*36" -> "47*6", "47*3", "282+1410").
Word problems first write their equation ("37+48") and then work it out.

Kinds and sizes: addition and subtraction of numbers up to 4 digits (a >= b
for subtraction), up to 3-digit x 1-digit and 2-digit x 2-digit products, and
word problems over the same operations with up to 3-digit numbers.
"""

import random

KINDS = [("add", 0.28), ("sub", 0.24), ("mul1", 0.16), ("mul2", 0.14), ("word", 0.18)]


def carry_steps(a, b, op):
    """Lines of the column working of a + b, or of a * b for one digit b
    (op "+" or "*"), last digits first with a carry, and the result."""
    lines = [f"{a}{op}{b}"]
    ra, rb, r, c = str(a), str(b), "", 0
    while ra or rb:
        da, db = int(ra[-1]) if ra else 0, int(rb[-1]) if rb else 0
        v = (da + db if op == "+" else da * db) + c
        r = str(v % 10) + r
        lines.append(f"{da}{op}{db}+{c}={v} r{r} c{v // 10}")
        c, ra = v // 10, ra[:-1]
        # an addend loses its last digit too; the one-digit factor stays while a lasts
        rb = rb[:-1] if op == "+" else (rb if ra else "")
        if ra or rb:
            lines.append(f"{ra or '0'}{op}{rb or '0'}")
    if c:
        r = str(c) + r
        lines.append(f"c{c} r{r}")
    return lines, int(r)


def add_steps(a, b):
    return carry_steps(a, b, "+")


def sub_steps(a, b):
    """Lines of the column subtraction a - b (a >= b) with borrows."""
    assert a >= b
    lines = [f"{a}-{b}"]
    ra, rb, r, bw = str(a), str(b), "", 0
    while ra:
        da, db = int(ra[-1]), int(rb[-1]) if rb else 0
        d = da - db - bw
        if d < 0:
            r = str(d + 10) + r
            lines.append(f"{da}-{db}-{bw}={d} +10={d + 10} r{r} b1")
            bw = 1
        else:
            r = str(d) + r
            lines.append(f"{da}-{db}-{bw}={d} r{r} b0")
            bw = 0
        ra, rb = ra[:-1], rb[:-1]
        if ra:
            lines.append(f"{ra}-{rb or '0'}")
    return lines, int(r)


def mul_digit_steps(a, d):
    return carry_steps(a, d, "*")


def mul_steps(a, b):
    """a * b: one-digit b directly, two-digit b as two products and a sum."""
    if b < 10:
        return mul_digit_steps(a, b)
    b1, b0 = divmod(b, 10)
    lines = [f"{a}*{b}"]
    l0, p0 = mul_digit_steps(a, b0)
    lines += l0 + [f"so {p0}"]
    l1, p1 = mul_digit_steps(a, b1)
    lines += l1 + [f"so {p1}"]
    ls, s = add_steps(p0, p1 * 10)
    return lines + ls, s


OPS = {"+": add_steps, "-": sub_steps, "*": mul_steps}

NAMES = ["Tom", "Anna", "Sam", "Mia", "Leo", "Eva", "Ben", "Zoe"]
OBJECTS = ["apples", "coins", "books", "pens", "stamps", "cards", "shells", "marbles"]
ARITH_FORMS = ["What is {a} {op} {b}?", "Compute {a} {op} {b}.", "Calculate {a} {op} {b}."]
WORD_FORMS = {
    "+": ["{n} has {a} {o}. {n} gets {b} more {o}. How many {o} does {n} have now?",
          "A shelf holds {a} {o} and another holds {b} {o}. How many {o} are there in all?"],
    "-": ["{n} had {a} {o} and gave away {b}. How many {o} are left?",
          "There were {a} {o} in a box. {n} took {b} of them. How many {o} are still in the box?"],
    "*": ["There are {a} bags with {b} {o} in each bag. How many {o} are there in total?",
          "{n} buys {a} packs of {o}. Each pack has {b} {o}. How many {o} does {n} buy?"],
}


def digits_number(rng, lo_digits, hi_digits):
    n = rng.randint(lo_digits, hi_digits)
    return rng.randint(10 ** (n - 1) if n > 1 else 0, 10 ** n - 1)


def make_problem(rng):
    """(question, working lines, answer) of one random problem."""
    r = rng.random()
    kind = KINDS[-1][0]
    for k, w in KINDS:
        if r < w:
            kind = k
            break
        r -= w
    if kind == "word":
        op = rng.choice("+-*")
        if op == "*":
            a, b = rng.randint(2, 99), rng.randint(2, 12)
        else:
            a, b = rng.randint(2, 999), rng.randint(2, 999)
            if op == "-" and a < b:
                a, b = b, a
        q = rng.choice(WORD_FORMS[op]).format(n=rng.choice(NAMES), o=rng.choice(OBJECTS), a=a, b=b)
    else:
        op = {"add": "+", "sub": "-", "mul1": "*", "mul2": "*"}[kind]
        if kind == "mul1":
            a, b = digits_number(rng, 1, 3), rng.randint(0, 9)
        elif kind == "mul2":
            a, b = rng.randint(10, 99), rng.randint(10, 99)
        else:
            a, b = digits_number(rng, 1, 4), digits_number(rng, 1, 4)
            if op == "-" and a < b:
                a, b = b, a
        q = rng.choice(ARITH_FORMS).format(a=a, op=op, b=b)
    lines, ans = OPS[op](a, b)
    assert ans == eval(f"{a}{op}{b}"), (a, op, b, ans)
    return q, lines + [f"so {ans}"], ans


def reasoning_text(lines):
    return "\n".join(lines)


def heldout(n, seed=7):
    """The held-out problems (never trained on): fixed seed, distinct questions."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        q, lines, ans = make_problem(rng)
        if q not in seen:
            seen.add(q)
            out.append((q, lines, ans))
    return out


def training_stream(seed, exclude):
    """Endless training problems; questions in `exclude` (the held-out set) are skipped."""
    rng = random.Random(seed)
    while True:
        q, lines, ans = make_problem(rng)
        if q not in exclude:
            yield q, lines, ans


if __name__ == "__main__":
    rng = random.Random(1)
    for _ in range(6):
        q, lines, ans = make_problem(rng)
        print(q)
        print(reasoning_text(lines))
        print("=>", ans, "\n")

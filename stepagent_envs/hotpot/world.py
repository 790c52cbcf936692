"""A seeded fictional world for the embedded multi-hop questions.

The world holds entities of nine kinds, with scalar attributes (years,
populations, genres, ...) and relations to other entities (a film's director,
a person's birthplace, a city's country, ...). Every name is made up from this
module's own word and syllable pools, so no question can be answered from
memory of the real world. :func:`build_world` draws the entities and
:func:`write_page` writes each one's encyclopedia page from sentence
templates, recording which sentence states which fact, so the questions built
on top (see :mod:`.generate`) know their supporting sentences.

Entity counts (:data:`WORLD_SIZES`): 30 countries, 300 cities, 60
universities, 240 companies (film studios, publishers, record labels and
others), 3,000 people, 1,500 films, 800 novels, 250 bands and 700 albums:
6,880 pages. Names are unique within a kind; a name shared across kinds (a
film and a novel both called "The Silent River") gets Wikipedia-style
disambiguated page titles, "The Silent River (film)" and "The Silent River
(novel)", while the text and the questions keep the bare name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

#: Entities per kind, in creation order (later kinds refer to earlier ones).
WORLD_SIZES = {
    "country": 30, "city": 300, "university": 60, "company": 240, "person": 3000,
    "film": 1500, "novel": 800, "band": 250, "album": 700,
}

#: Page-title qualifier of each kind, used when a name is shared across kinds.
QUALIFIER = {
    "country": "country", "city": "city", "university": "university", "company": "company",
    "person": "person", "film": "film", "novel": "novel", "band": "band", "album": "album",
}

# -- word pools -------------------------------------------------------------------

_GIVEN = (
    "Ada", "Alma", "Anton", "Arno", "Astrid", "Beatrix", "Benedikt", "Bruno", "Carla", "Casimir",
    "Celia", "Clara", "Conrad", "Dagny", "Dario", "Delia", "Edmund", "Elena", "Elias", "Elsa",
    "Emil", "Enzo", "Erik", "Esme", "Fabian", "Felix", "Flora", "Frida", "Gideon", "Greta",
    "Gustav", "Hana", "Hugo", "Ida", "Ilse", "Ines", "Ivo", "Jasper", "Jonas", "Judit",
    "Julian", "Karin", "Kasimir", "Lars", "Leon", "Lina", "Livia", "Lorenz", "Lucia", "Magnus",
    "Malin", "Marek", "Marta", "Matteo", "Mira", "Milan", "Nadia", "Nika", "Nils", "Nora",
    "Olga", "Oskar", "Otto", "Paula", "Petra", "Pia", "Quentin", "Rafael", "Rosa", "Ruben",
    "Sabine", "Selma", "Silas", "Sonja", "Stellan", "Tamara", "Teodor", "Thea", "Tilda", "Tobias",
    "Ulla", "Valter", "Vera", "Viggo", "Wanda", "Wilhelm", "Yara", "Yusuf", "Zelda", "Zoran",
    "Agnes", "Amos", "Bianca", "Cyril", "Dora", "Ezra", "Fiona", "Gert", "Helga", "Ingrid",
)
_ONSETS = (
    "Al", "Bren", "Cal", "Dor", "El", "Fen", "Gar", "Hal", "Is", "Jor", "Kel", "Lor", "Mar", "Nor",
    "Os", "Per", "Quin", "Ros", "Sel", "Tor", "Ul", "Val", "Wen", "Yar", "Zan", "Brek", "Dun",
    "Har", "Lin", "Mor", "Rad", "Stav", "Thal", "Vik", "Ast",
)
_MIDDLES = ("", "a", "e", "i", "o", "en", "ar")
_SURNAME_ENDS = (
    "den", "ford", "holt", "ley", "mond", "ner", "ric", "sen", "ton", "wick", "berg", "dale",
    "more", "ston", "by", "ard", "ick", "row", "ens", "vik", "quist", "ski", "man", "ott",
)
_CITY_ENDS = (
    "burg", "ton", "mouth", "field", "haven", "stad", "ville", "port", "dal", "grad", "holm",
    "sund", "minster", "bridge", "wick", "mar", "ora",
)
_COUNTRY_STEMS = (
    "Vel", "Ost", "Kor", "Tal", "Bel", "Dra", "Sar", "Lun", "Ner", "Cal", "Ev", "Fer", "Gal",
    "Hes", "Jur", "Kav", "Mon", "Nov", "Pal", "Rav", "Sol", "Tar", "Var", "Zel", "Quel", "Bor",
)
_COUNTRY_MIDDLES = ("dor", "ran", "lon", "mar", "ven", "tar", "sen", "gar", "mir", "ost")
_COUNTRY_ENDS = ("ia", "a", "ea", "ovia", "enia", "land")
_CURRENCIES = ("crown", "mark", "florin", "ducat", "thaler", "lira", "dinar", "shilling")
_ADJECTIVES = (
    "Silent", "Crimson", "Hollow", "Golden", "Broken", "Distant", "Hidden", "Burning", "Frozen",
    "Quiet", "Restless", "Wandering", "Last", "Lonely", "Bright", "Velvet", "Iron", "Paper",
    "Glass", "Silver", "Scarlet", "Bitter", "Endless", "Forgotten", "Secret", "Winter", "Summer",
    "Northern", "Southern", "Midnight", "Little", "Wild", "Gentle", "Savage", "Sleeping",
    "Falling", "Rising", "Painted", "Shattered", "Amber", "Copper", "Emerald", "Pale", "Dark",
    "Electric", "Salt", "Stone", "Hungry", "Honest", "Crooked",
)
_NOUNS = (
    "River", "Harbour", "Garden", "Mountain", "Kingdom", "Letter", "Mirror", "Orchard", "Lantern",
    "Voyage", "Carnival", "Circus", "Bridge", "Island", "Forest", "Tower", "Station", "Compass",
    "Horizon", "Season", "Window", "Promise", "Machine", "Empire", "Shadow", "Signal", "Anthem",
    "Meadow", "Canyon", "Chapel", "Courtyard", "Desert", "Engine", "Feather", "Fortress",
    "Glacier", "Highway", "Labyrinth", "Lighthouse", "Market", "Monument", "Night", "Ocean",
    "Palace", "Quarry", "Rider", "Sparrow", "Tide", "Valley", "Wolf", "Crown", "Dancer",
    "Stranger", "Hunter", "Sailor", "Widow", "Heir", "Thief", "Prophet", "Witness",
)
_PLACES = ("Morning", "Evening", "Spring", "Autumn", "the Sea", "the North", "Ashes", "Glass", "Dust", "Rain")
_STUDIO_WORDS = ("Pictures", "Films", "Studios", "Film Company", "Cinema")
_PUBLISHER_WORDS = ("Press", "Books", "Publishing", "House")
_LABEL_WORDS = ("Records", "Music", "Sound", "Recordings")
_OTHER_WORDS = ("Motors", "Shipping", "Foods", "Textiles", "Mining", "Rail")
_BRAND_WORDS = (
    "Bluewater", "Northgate", "Redwood", "Starling", "Highland", "Ironbark", "Lakeside", "Oakmont",
    "Sunward", "Westbrook", "Harrow", "Kestrel", "Larkspur", "Meridian", "Pinecrest", "Riverstone",
)
_FILM_GENRES = ("drama", "comedy", "thriller", "science fiction", "horror", "western", "musical", "war", "crime", "romance")
_NOVEL_GENRES = ("mystery", "historical", "science fiction", "fantasy", "crime", "coming-of-age", "satirical", "gothic")
_MUSIC_GENRES = ("rock", "folk", "jazz", "electronic", "punk", "blues", "pop", "metal", "soul")
_OCCUPATIONS = {  # occupation -> (plural, share of the people)
    "film director": ("film directors", 0.12), "actor": ("actors", 0.22), "novelist": ("novelists", 0.12),
    "musician": ("musicians", 0.12), "businessperson": ("businesspeople", 0.12), "physicist": ("physicists", 0.1),
    "painter": ("painters", 0.1), "architect": ("architects", 0.1),
}
_SUBJECTS = ("history", "law", "physics", "music", "fine art", "literature", "economics", "architecture", "philosophy", "engineering")
_ORDINALS = ("debut", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
_REVIEWS = ("positive", "mixed", "lukewarm", "enthusiastic", "favourable")


def plural(occupation: str) -> str:
    """The plural of an occupation ("film director" -> "film directors")."""
    return _OCCUPATIONS[occupation][0]


def thousands(number: int) -> str:
    """``number`` with thousands separators, as the pages write it (1,234,567)."""
    return f"{number:,}"


@dataclass(slots=True)
class Entity:
    """One thing in the world and its page.

    ``attrs`` holds scalar attributes (str or int) and relations (the ``eid``
    of another entity, or a list of them for ``works``); ``facts`` maps each
    attribute to the index of the page sentence that states it.
    """

    eid: int
    kind: str
    name: str
    attrs: dict = field(default_factory=dict)
    title: str = ""
    sentences: list[str] = field(default_factory=list)
    facts: dict[str, int] = field(default_factory=dict)


class World:
    """The entities, by id and by kind, plus the reverse relations."""

    def __init__(self) -> None:
        self.entities: list[Entity] = []
        self.by_kind: dict[str, list[int]] = {kind: [] for kind in WORLD_SIZES}
        self.referrers: dict[int, list[int]] = {}  #: eid -> ids of the entities whose relations name it

    def add(self, kind: str, name: str, **attrs) -> Entity:
        """Create an entity of ``kind`` called ``name`` with ``attrs``."""
        entity = Entity(len(self.entities), kind, name, attrs)
        self.entities.append(entity)
        self.by_kind[kind].append(entity.eid)
        return entity

    def __getitem__(self, eid: int) -> Entity:
        return self.entities[eid]

    def of(self, kind: str) -> list[Entity]:
        """The entities of one kind, in creation order."""
        return [self.entities[i] for i in self.by_kind[kind]]


class _Names:
    """Draws names unique within a kind from a generator function."""

    def __init__(self, rng: Random) -> None:
        self.rng = rng
        self.used: dict[str, set[str]] = {}

    def draw(self, kind: str, make) -> str:
        used = self.used.setdefault(kind, set())
        for _ in range(1000):
            name = make(self.rng)
            if name not in used:
                used.add(name)
                return name
        raise RuntimeError(f"the {kind} name pool is exhausted; enlarge its word lists or reduce WORLD_SIZES[{kind!r}]")


def _surname(r: Random) -> str:
    return r.choice(_ONSETS) + r.choice(_MIDDLES) + r.choice(_SURNAME_ENDS)


def _person_name(r: Random) -> str:
    return f"{r.choice(_GIVEN)} {_surname(r)}"


def _city_name(r: Random) -> str:
    return r.choice(_ONSETS) + r.choice(_MIDDLES) + r.choice(_CITY_ENDS)


def _country_name(r: Random) -> str:
    return r.choice(_COUNTRY_STEMS) + r.choice(_COUNTRY_MIDDLES) + r.choice(_COUNTRY_ENDS)


def _work_title(r: Random) -> str:
    pattern = r.random()
    if pattern < 0.45:
        return f"The {r.choice(_ADJECTIVES)} {r.choice(_NOUNS)}"
    if pattern < 0.65:
        return f"{r.choice(_ADJECTIVES)} {r.choice(_NOUNS)}"
    if pattern < 0.85:
        return f"The {r.choice(_NOUNS)} of {r.choice(_PLACES)}"
    return f"{r.choice(_NOUNS)} and {r.choice(_NOUNS)}"


def _plural_noun(noun: str) -> str:
    if noun.endswith("s"):
        return noun + "es"
    return noun[:-1] + "ves" if noun.endswith("f") else noun + "s"


def _band_name(r: Random) -> str:
    if r.random() < 0.6:
        return f"The {r.choice(_ADJECTIVES)} {_plural_noun(r.choice(_NOUNS))}"
    return f"{r.choice(_ADJECTIVES)} {r.choice(_NOUNS)}"


def _pick(r: Random, ids: list[int], ok) -> int:
    """A random id from ``ids`` that passes ``ok`` (a random one when 50 draws find none)."""
    for _ in range(50):
        eid = r.choice(ids)
        if ok(eid):
            return eid
    return r.choice(ids)


def build_world(rng: Random) -> World:
    """Draw every entity and relation of the world with ``rng``, then write the pages."""
    r, names, w = rng, _Names(rng), World()

    for _ in range(WORLD_SIZES["country"]):
        name = names.draw("country", _country_name)
        demonym = name + ("er" if name.endswith("land") else "n")  # Veldoria -> Veldorian, Ostland -> Ostlander
        w.add("country", name, demonym=demonym, population=int(10 ** r.uniform(5.5, 8)),
              currency=f"{demonym} {r.choice(_CURRENCIES)}")
    countries = w.by_kind["country"]
    for _ in range(WORLD_SIZES["city"]):
        w.add("city", names.draw("city", _city_name), country=r.choice(countries),
              population=int(10 ** r.uniform(3.7, 6.8)), founded=r.randint(700, 1900),
              river=r.choice(_ONSETS) + r.choice(("a", "e", "ine", "o", "und")))
    cities = w.by_kind["city"]
    for country in w.of("country"):  # every country's capital is its biggest city
        own = [c for c in cities if w[c].attrs["country"] == country.eid]
        if not own:  # a country no city fell in gets one
            city = w[r.choice(cities)]
            city.attrs["country"] = country.eid
            own = [city.eid]
        country.attrs["capital"] = max(own, key=lambda c: w[c].attrs["population"])
    for _ in range(WORLD_SIZES["university"]):
        where: list[int] = []  # the city the drawn name was built from

        def university_name(rr: Random) -> str:
            where[:] = [rr.choice(cities)]
            style, city = rr.random(), w[where[0]].name
            if style < 0.5:
                return f"University of {city}"
            if style < 0.75:
                return f"{city} Institute of {rr.choice(('Technology', 'Science', 'the Arts'))}"
            return f"{_surname(rr)} College"

        name = names.draw("university", university_name)
        w.add("university", name, city=where[0], founded=r.randint(1400, 1980),
              students=r.randint(20, 600) * 100, control=r.choice(("public", "private")))
    universities = w.by_kind["university"]

    def person(occupation: str, born: tuple[int, int]) -> int:
        birth = r.randint(*born)
        attrs = dict(occupation=occupation, birth_year=birth, birth_city=r.choice(cities),
                     alma_mater=r.choice(universities), subject=r.choice(_SUBJECTS), works=[])
        if birth < 1945 and r.random() < 0.6:
            attrs["death_year"] = min(2023, birth + r.randint(45, 95))
        return w.add("person", names.draw("person", _person_name), **attrs).eid

    # Companies with their founders (businesspeople) first, so founding follows birth.
    industries = (("film studio", _STUDIO_WORDS, 80), ("publisher", _PUBLISHER_WORDS, 60),
                  ("record label", _LABEL_WORDS, 60), ("company", _OTHER_WORDS, 40))
    assert sum(n for *_, n in industries) == WORLD_SIZES["company"]
    for industry, words, count in industries:
        for _ in range(count):
            founder = person("businessperson", (1830, 1975))
            brand = lambda rr, ws=words: f"{rr.choice(_BRAND_WORDS) if rr.random() < 0.4 else _surname(rr)} {rr.choice(ws)}"  # noqa: E731
            company = w.add("company", names.draw("company", brand), industry=industry, founder=founder,
                            founded=w[founder].attrs["birth_year"] + r.randint(24, 48), hq=r.choice(cities),
                            employees=r.randint(2, 400) * 50)
            w[founder].attrs["works"].append(company.eid)
    companies = {industry: [c for c in w.by_kind["company"] if w[c].attrs["industry"] == industry] for industry, *_ in industries}

    made = len(w.by_kind["person"])
    shares = [(occ, share) for occ, (_, share) in _OCCUPATIONS.items() if occ != "businessperson"]
    total = sum(share for _, share in shares)
    for occupation, share in shares:
        for _ in range(round((WORLD_SIZES["person"] - made) * share / total)):
            person(occupation, (1880, 1998))
    while len(w.by_kind["person"]) < WORLD_SIZES["person"]:  # rounding remainder
        person("painter", (1880, 1998))
    people = {occ: [p for p in w.by_kind["person"] if w[p].attrs["occupation"] == occ] for occ in _OCCUPATIONS}

    for _ in range(WORLD_SIZES["film"]):
        director = r.choice(people["film director"])
        year = min(2023, w[director].attrs["birth_year"] + r.randint(24, 60))
        adult = lambda eid, y=year: w[eid].attrs["birth_year"] <= y - 16  # noqa: E731
        lead = _pick(r, people["actor"], adult)
        costar = _pick(r, people["actor"], lambda eid, star=lead: adult(eid) and eid != star)
        film = w.add("film", names.draw("film", _work_title), year=year, genre=r.choice(_FILM_GENRES),
                     director=director, lead=lead, costar=costar, studio=r.choice(companies["film studio"]),
                     location=r.choice(cities), runtime=r.randint(78, 185), review=r.choice(_REVIEWS))
        for eid in (director, lead, costar):
            w[eid].attrs["works"].append(film.eid)
    for _ in range(WORLD_SIZES["novel"]):
        author = r.choice(people["novelist"])
        year = min(2023, w[author].attrs["birth_year"] + r.randint(22, 70))
        novel = w.add("novel", names.draw("novel", _work_title), year=year, genre=r.choice(_NOVEL_GENRES),
                      author=author, publisher=r.choice(companies["publisher"]), setting=r.choice(cities),
                      pages=r.randint(120, 900))
        w[author].attrs["works"].append(novel.eid)
    for _ in range(WORLD_SIZES["band"]):
        founder = r.choice(people["musician"])
        band = w.add("band", names.draw("band", _band_name), founder=founder,
                     formed=min(2020, w[founder].attrs["birth_year"] + r.randint(16, 40)), origin=r.choice(cities),
                     genre=r.choice(_MUSIC_GENRES), members=r.randint(2, 7), albums=[])
        w[founder].attrs["works"].append(band.eid)
    bands = w.by_kind["band"]
    for _ in range(WORLD_SIZES["album"]):
        band = w[r.choice(bands)]
        number = len(band.attrs["albums"])
        if number >= len(_ORDINALS):  # a prolific band: give the album to another one
            band = w[min(bands, key=lambda b: len(w[b].attrs["albums"]))]
            number = len(band.attrs["albums"])
        year = min(2023, band.attrs["formed"] + number * r.randint(1, 4) + r.randint(0, 2))
        album = w.add("album", names.draw("album", _work_title), band=band.eid, year=year, ordinal=_ORDINALS[number],
                      label=r.choice(companies["record label"]), tracks=r.randint(8, 16))
        band.attrs["albums"].append(album.eid)

    _link_referrers(w)
    _assign_titles(w)
    for entity in w.entities:
        write_page(w, entity, r)
    return w


#: Attributes that name another entity.
RELATIONS = ("country", "capital", "city", "founder", "hq", "birth_city", "alma_mater", "director", "lead",
              "costar", "studio", "location", "author", "publisher", "setting", "origin", "band", "label")


def _link_referrers(w: World) -> None:
    for entity in w.entities:
        for attr in RELATIONS:
            if attr in entity.attrs:
                w.referrers.setdefault(entity.attrs[attr], []).append(entity.eid)


def _assign_titles(w: World) -> None:
    holders: dict[str, list[Entity]] = {}
    for entity in w.entities:
        holders.setdefault(entity.name.lower(), []).append(entity)
    for same in holders.values():
        for entity in same:
            entity.title = entity.name if len(same) == 1 else f"{entity.name} ({QUALIFIER[entity.kind]})"


def _surname_of(entity: Entity) -> str:
    return entity.name.split(" ", 1)[1]


def _list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class _Page:
    """Collects sentences and the facts each one states."""

    def __init__(self) -> None:
        self.sentences: list[str] = []
        self.facts: dict[str, int] = {}

    def say(self, sentence: str, *facts: str) -> None:
        for fact in facts:
            self.facts.setdefault(fact, len(self.sentences))
        self.sentences.append(sentence)


def write_page(w: World, e: Entity, r: Random) -> None:
    """Write ``e``'s page sentences and fact positions from this module's templates.

    The opening sentence is fixed per kind; the others are drawn from
    alternative phrasings and shuffled, so a fact may sit past the sentences
    a search shows and need ``lookup``.
    """
    page, a = _Page(), e.attrs
    name = lambda eid: w[eid].name  # noqa: E731
    body: list[tuple[str, tuple[str, ...]]] = []
    if e.kind == "country":
        page.say(f"{e.name} is a country whose capital and largest city is {name(a['capital'])}.", "capital")
        body += [(f"It has a population of about {thousands(a['population'])}.", ("population",)),
                 (f"Its official language is {a['demonym']} and its currency is the {a['currency']}.", ("currency", "language")),
                 (f"{e.name} is divided into {r.randint(4, 30)} provinces.", ())]
    elif e.kind == "city":
        page.say(f"{e.name} is a city in {name(a['country'])}, on the {a['river']} river.", "country")
        body += [(r.choice((f"It has a population of {thousands(a['population'])}.",
                            f"As of the last census, {e.name} had {thousands(a['population'])} inhabitants.")), ("population",)),
                 (r.choice((f"{e.name} was founded in {a['founded']}.", f"The town was first settled in {a['founded']}.")), ("founded",)),
                 (f"Its old quarter is known for its {r.choice(('markets', 'bridges', 'churches', 'canals', 'gardens'))}.", ())]
        if w[a["country"]].attrs["capital"] == e.eid:
            body.append((f"{e.name} is the capital of {name(a['country'])}.", ()))
    elif e.kind == "university":
        page.say(f"{e.name} is a {a['control']} university in {name(a['city'])}.", "city")
        body += [(r.choice((f"It was founded in {a['founded']}.", f"The university was established in {a['founded']}.")), ("founded",)),
                 (f"It has about {thousands(a['students'])} students.", ("students",)),
                 (f"Its library holds one of the oldest collections in {name(w[a['city']].attrs['country'])}.", ())]
    elif e.kind == "company":
        page.say(f"{e.name} is {'an' if a['industry'][0] in 'aeiou' else 'a'} {a['industry']} founded in {a['founded']}.", "founded")
        body += [(r.choice((f"It was founded by {name(a['founder'])}.", f"The company's founder is {name(a['founder'])}.")), ("founder",)),
                 (f"It is headquartered in {name(a['hq'])}.", ("hq",)),
                 (f"{e.name} employs about {thousands(a['employees'])} people.", ("employees",))]
    elif e.kind == "person":
        nationality = w[w[a["birth_city"]].attrs["country"]].attrs["demonym"]
        surname = _surname_of(e)
        if "death_year" in a:
            page.say(f"{e.name} ({a['birth_year']} - {a['death_year']}) was a {nationality} {a['occupation']}.",
                     "birth_year", "nationality", "occupation")
        else:
            page.say(f"{e.name} (born {a['birth_year']}) is a {nationality} {a['occupation']}.",
                     "birth_year", "nationality", "occupation")
        body.append((r.choice((f"{surname} was born in {name(a['birth_city'])}.",
                               f"Born and raised in {name(a['birth_city'])}, {surname} moved abroad as a young adult.",
                               f"{surname} grew up in {name(a['birth_city'])}, where {surname} was born.")), ("birth_city",)))
        body.append((r.choice((f"{surname} studied {a['subject']} at {name(a['alma_mater'])}.",
                               f"{surname} graduated in {a['subject']} from {name(a['alma_mater'])}.")), ("alma_mater",)))
        works = [name(x) for x in a["works"][:3]]
        verb = {"film director": "is known for directing", "actor": "is known for appearing in",
                "novelist": "is the author of", "musician": "founded the band", "businessperson": "founded"}.get(a["occupation"])
        if verb and works:
            body.append((f"{surname} {verb} {_list(works)}.", ("works",)))
        body += [(f"{surname} received {r.randint(2, 14)} awards over a career of {r.randint(2, 6)} decades.", ()),
                 (f"{surname} often spoke of an early interest in {r.choice(_SUBJECTS)}.", ())]
    elif e.kind == "film":
        page.say(f"{e.name} is a {a['year']} {a['genre']} film directed by {name(a['director'])}.", "year", "genre", "director")
        body += [(r.choice((f"It stars {name(a['lead'])} in the lead role, alongside {name(a['costar'])}.",
                            f"{name(a['lead'])} plays the lead, with {name(a['costar'])} in a supporting role.")), ("lead", "costar")),
                 (f"The film was produced by {name(a['studio'])}.", ("studio",)),
                 (r.choice((f"It was shot on location in {name(a['location'])}.", f"Filming took place in {name(a['location'])}.")), ("location",)),
                 (f"It runs {a['runtime']} minutes.", ("runtime",)),
                 (f"The film received {a['review']} reviews from critics.", ())]
    elif e.kind == "novel":
        page.say(f"{e.name} is a {a['year']} {a['genre']} novel by {name(a['author'])}.", "year", "genre", "author")
        body += [(f"It was published by {name(a['publisher'])}.", ("publisher",)),
                 (r.choice((f"The story is set in {name(a['setting'])}.", f"The novel takes place in {name(a['setting'])}.")), ("setting",)),
                 (f"The first edition runs to {a['pages']} pages.", ("pages",))]
    elif e.kind == "band":
        page.say(f"{e.name} is a {a['genre']} band formed in {name(a['origin'])} in {a['formed']}.", "origin", "formed", "genre")
        body += [(f"The band was founded by {name(a['founder'])}.", ("founder",)),
                 (f"It has {a['members']} members.", ("members",))]
        if a["albums"]:
            body.append((f"Its albums include {_list([name(x) for x in a['albums'][:3]])}.", ("albums",)))
    elif e.kind == "album":
        page.say(f"{e.name} is the {a['ordinal']} studio album by {name(a['band'])}, released in {a['year']}.", "band", "year")
        body += [(f"It was released on {name(a['label'])}.", ("label",)),
                 (f"The album contains {a['tracks']} tracks.", ("tracks",))]
    else:
        raise AssertionError(f"unhandled kind {e.kind!r}")
    r.shuffle(body)
    for sentence, facts in body:
        page.say(sentence, *facts)
    e.sentences, e.facts = page.sentences, page.facts

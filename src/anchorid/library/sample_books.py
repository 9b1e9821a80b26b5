"""The demo's sample books: short synthetic texts written for AnchorID (no copyrighted text; every person, place
and event in them is invented). Four are vertical (縦書き, right-to-left), two horizontal, and one is a fixed-layout
picture book (pages drawn in SVG here). Plain data (no Django): ``samples.seed`` puts them in the catalogue,
tests/interop/test_epubcheck_samples.py checks their EPUB files."""

from __future__ import annotations

from anchorid.library.epub import Book
from anchorid.library.isbn import with_isbn_check_digit

# -- the picture book's drawings (SVG elements in a 600 × 600 box) ----------------------------------------------------


def _sky(colour: str) -> str:
    return f'<rect width="600" height="600" fill="{colour}"/>'


def _balloon(x: int, y: int) -> str:
    return (
        f'<path d="M{x} {y + 70} q-15 40 0 80 t0 80" stroke="#555" stroke-width="3" fill="none"/>'
        f'<ellipse cx="{x}" cy="{y}" rx="55" ry="70" fill="#2b6cd4"/>'
        f'<ellipse cx="{x - 20}" cy="{y - 25}" rx="12" ry="20" fill="#9cc3ff"/>'
    )


_SUN = '<circle cx="500" cy="100" r="50" fill="#f7c948"/>'
_WINDOW = (
    '<rect x="40" y="40" width="520" height="520" fill="none" stroke="#8d6e63" stroke-width="24"/>'
    '<line x1="300" y1="40" x2="300" y2="560" stroke="#8d6e63" stroke-width="12"/>'
)
_ROOFS = "".join(
    f'<rect x="{x}" y="{y}" width="110" height="{600 - y}" fill="{wall}"/>'
    f'<polygon points="{x - 10},{y} {x + 55},{y - 60} {x + 120},{y}" fill="{roof}"/>'
    for x, y, wall, roof in ((20, 430, "#f5e6c8", "#b23a2e"), (170, 470, "#e8d5b0", "#37474f"),
                             (320, 420, "#f5e6c8", "#6d4c41"), (470, 460, "#e8d5b0", "#b23a2e"))
)  # fmt: skip
_SEA = (
    '<rect y="420" width="600" height="180" fill="#1e88e5"/>'
    '<path d="M0 440 q50 -30 100 0 t100 0 t100 0 t100 0 t100 0 t100 0" stroke="#ffffff" stroke-width="6" fill="none"/>'
)
_GULL = '<path d="M120 220 q25 -25 50 0 q25 -25 50 0" stroke="#333333" stroke-width="5" fill="none"/>'
_MOUNTAIN = (
    '<polygon points="0,600 300,230 600,600" fill="#6d8b3a"/><polygon points="252,289 300,230 348,289" fill="#ffffff"/>'
)
_NIGHT = '<circle cx="460" cy="130" r="60" fill="#fff59d"/>' + "".join(
    f'<circle cx="{x}" cy="{y}" r="4" fill="#ffffff"/>'
    for x, y in ((80, 90), (180, 60), (300, 120), (120, 260), (540, 300))
)

#: The fixed-layout picture book: (the page's text, its picture).
PICTURE_BOOK_PAGES = [
    (
        "あさ、まどの そとに あおい ふうせんが ひとつ ういていました。",
        _sky("#cfe8ff") + _SUN + _balloon(300, 260) + _WINDOW,
    ),
    ("ふうせんは かぜに のって、まちの やねを こえて いきます。", _sky("#cfe8ff") + _ROOFS + _balloon(420, 180)),
    ("うみの うえで、かもめが「こんにちは」と いいました。", _sky("#d7f0ff") + _SEA + _GULL + _balloon(400, 230)),
    ("やまの てっぺんで、ふうせんは ひとやすみ。", _sky("#e3f2d9") + _MOUNTAIN + _balloon(300, 130)),
    ("よるに なると、おつきさまが みちを てらして くれました。", _sky("#1a237e") + _NIGHT + _balloon(220, 330)),
    (
        "つぎの あさ、ふうせんは また まどの そとへ。おかえりなさい。",
        _sky("#fff3d6") + _SUN + _balloon(300, 280) + _WINDOW,
    ),
]

BOOKS = [
    Book(
        identifier="urn:uuid:6c1b7d4e-0b7a-4a57-9d2e-16a000000001",
        title="海辺の図書室",
        title_yomi="うみべのとしょしつ",
        author="浜野 しおり",
        author_yomi="はまの しおり",
        language="ja",
        vertical=True,
        isbn=with_isbn_check_digit("978499000001"),
        ndc="913.6",
        subjects="小説 図書館 海",
        chapters=[
            (
                "一　潮の匂い",
                [
                    "坂を下りきったところに、小さな図書室があった。窓を開けると潮の匂いが入ってきて、古い本の頁がかすかに鳴った。",
                    "司書の港さんは、毎朝いちばんに窓を拭く。曇った硝子の向こうに海が見えないと、一日が始まらない気がするのだという。",
                    "その朝、カウンターに一枚の葉書が置かれていた。差出人の名前はなく、ただ「借りた本を、まだ返せていません」とだけ書かれていた。",
                ],
            ),
            (
                "二　返せない本",
                [
                    "貸出記録をたどると、十年前に借りられたまま戻っていない本が一冊だけあった。題名は『波の数え方』。",
                    "港さんは葉書を光にかざした。消印は隣町のもので、文字は丁寧だが少し震えていた。",
                    "返さなくてもいいのに、と港さんは思った。本は読まれるためにある。誰かの棚で十年眠っていたなら、それもまたひとつの読まれ方だ。",
                ],
            ),
            (
                "三　波の数え方",
                [
                    "次の土曜日、図書室の扉が静かに開いた。白い帽子の老人が、日に焼けた本を両手で差し出した。",
                    "「波を数えていたら、十年たってしまいました」と老人は笑った。港さんも笑って、返却の印を押した。",
                    "その日の夕方、『波の数え方』はもう一度貸し出された。借りたのは、窓際でいつも宿題をしている小学生だった。",
                ],
            ),
        ],
    ),
    Book(
        identifier="urn:uuid:6c1b7d4e-0b7a-4a57-9d2e-16a000000002",
        title="竹林の手紙",
        title_yomi="ちくりんのてがみ",
        author="谷口 すずか",
        author_yomi="たにぐち すずか",
        language="ja",
        vertical=True,
        isbn=with_isbn_check_digit("978499000002"),
        ndc="913.6",
        subjects="小説 手紙 竹林",
        chapters=[
            (
                "第一話　風の便り",
                [
                    "寺の裏の竹林には、誰が始めたのか分からない郵便受けがひとつ立っている。",
                    "そこに手紙を入れると、一週間ほどで返事が届く。差出人はいつも「竹より」とだけ記されている。",
                ],
            ),
            (
                "第二話　返事を書く人",
                [
                    "ある雨の日、わたしは郵便受けの前で傘をさして待ってみた。夕暮れに現れたのは、箒を持った寺の若い僧だった。",
                    "「竹の代わりに書いているだけです」と僧は言った。「竹は字が書けませんから」。",
                ],
            ),
        ],
    ),
    Book(
        identifier="urn:uuid:6c1b7d4e-0b7a-4a57-9d2e-16a000000003",
        title="鎌倉路地歩き",
        title_yomi="かまくらろじあるき",
        author="小町 ゆう",
        author_yomi="こまち ゆう",
        language="ja",
        vertical=True,
        isbn=with_isbn_check_digit("978499000003"),
        ndc="291.37",
        subjects="紀行 散歩 路地",
        chapters=[
            (
                "はじめに",
                [
                    "この本は、架空の町「鎌倉」の路地を歩くための、架空の案内書である。地図に載っている道は一本もない。",
                    "道に迷ったら、いちばん細い道を選ぶこと。それがこの本の唯一の決まりである。",
                ],
            ),
            (
                "一　切通しの朝",
                [
                    "朝の切通しは、苔の緑と石の灰色だけでできている。足音がやけに大きく響くので、自然と忍び足になる。",
                    "抜けた先の茶屋で、焼き団子を一本。店の猫が、代金を確かめるように見上げてくる。",
                ],
            ),
        ],
    ),
    Book(
        identifier="urn:uuid:6c1b7d4e-0b7a-4a57-9d2e-16a000000004",
        title="星を編む人",
        title_yomi="ほしをあむひと",
        author="織部 あかり",
        author_yomi="おりべ あかり",
        language="ja",
        vertical=True,
        isbn=with_isbn_check_digit("978499000004"),
        ndc="913.6",
        subjects="童話 星 編み物",
        chapters=[
            (
                "星を編む人",
                [
                    "山の上の小屋に、夜ごと星を編むおばあさんが住んでいた。毛糸のかわりに、流れ星の尾を使うのだという。",
                    "編み上がった星は、朝になると空へ返す。だから昼間には、おばあさんの仕事を見た人は誰もいない。",
                    "ある晩、村の子どもがこっそり小屋をのぞいた。おばあさんは手を止めずに言った。「一目だけ、編んでごらん」。",
                ],
            ),
        ],
    ),
    Book(
        identifier="urn:uuid:6c1b7d4e-0b7a-4a57-9d2e-16a000000005",
        title="はじめての電子図書館",
        title_yomi="はじめてのでんしとしょかん",
        author="図書館サービス研究会（架空）",
        author_yomi="としょかんさーびすけんきゅうかい",
        language="ja",
        vertical=False,
        isbn=with_isbn_check_digit("978499000005"),
        ndc="015",
        subjects="図書館 電子書籍 利用案内",
        chapters=[
            (
                "借りる",
                [
                    "検索して、読みたい本の「借りる」を押します。貸出中なら予約できます。",
                    "返却は自動です。読み終えたら早めに返すこともできます。",
                ],
            ),
            ("予約", ["順番が来るとお知らせが届きます。7日以内に借りてください。"]),
        ],
    ),
    Book(
        identifier="urn:uuid:6c1b7d4e-0b7a-4a57-9d2e-16a000000006",
        title="A Small Guide to Tide Pools",
        title_yomi="",
        author="R. Shore",
        author_yomi="",
        language="en",
        vertical=False,
        isbn=with_isbn_check_digit("978499000006"),
        ndc="481.72",
        subjects="nature sea tide pools",
        chapters=[
            ("Low tide", ["At low tide the rocks open like a book. Read them slowly, and put every stone back."]),
            (
                "Who lives here",
                ["Crabs, anemones and the occasional patient goby, all of them invented for this page."],
            ),
        ],
    ),
    Book(
        identifier="urn:uuid:6c1b7d4e-0b7a-4a57-9d2e-16a000000007",
        title="青い風船のさんぽ",
        title_yomi="あおいふうせんのさんぽ",
        author="空野 ふわり",
        author_yomi="そらの ふわり",
        language="ja",
        vertical=False,
        isbn=with_isbn_check_digit("978499000007"),
        ndc="726.6",
        subjects="絵本 風船 空 固定レイアウト",
        chapters=[],
        pages=PICTURE_BOOK_PAGES,
    ),
]

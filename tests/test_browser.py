"""The chat in real headless Chromium against a real uvicorn server on loopback."""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from fast_encoder import GatedEncoder, WordAnalyser
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait
from servers import running

from qa import build_index
from web import create_app
from web.state import open_retriever

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARTIFACTS = Path(__file__).parent / "artifacts"
MIAMI = "Where did the US and Russian envoys meet?"
FOLLOW_UP = "Who represented the US?"
HOSTILE = ('The <script>window.pwned = 1</script> Zorblax file "><img src=x onerror="window.pwned=1">\n\n'
           'The Zorblax report was written by Agent Quimby Smith, who signed it "><img src=x onerror="window.pwned=1">'
           " in the margin.\n")
HOSTILE_QUESTION = 'Who wrote the Zorblax report? <script>window.pwned=1</script>"><img src=x onerror="window.pwned=1">'
WAIT = 30  # seconds a page may take to show what the test waits for (a failure, not a speed bar)


@contextmanager
def serving(index_dir: Path, seeds_dir: Path):
    """The app over `index_dir`, its Retriever loaded, served on loopback; yields its base URL."""
    app = create_app(index_dir, seeds_dir)
    open_retriever(app)
    with running(app) as url:
        yield url


@pytest.fixture(scope="module")
def base_url(index_dir, seeds_dir):
    with serving(index_dir, seeds_dir) as url:
        yield url


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory):
    seeds = tmp_path_factory.mktemp("hostile-seeds")
    (seeds / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    index = tmp_path_factory.mktemp("hostile-index")
    build_index(seeds, index, progress=False)
    with serving(index, seeds) as url:
        yield url


def chromium(profile: Path, javascript: bool = True) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                f"--user-data-dir={profile}", "--window-size=1280,800"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def plain_browser(tmp_path_factory):
    """Chromium with JavaScript switched off."""
    driver = chromium(tmp_path_factory.mktemp("chromium-profile-nojs"), javascript=False)
    yield driver
    driver.quit()


def ask(driver, question: str):
    """Type `question` in the chat box, press Enter, and return the new turn once it has its answer."""
    before = len(driver.find_elements(By.CSS_SELECTOR, ".turn"))
    box = driver.find_element(By.ID, "q")
    box.send_keys(question, Keys.ENTER)
    done = (By.CSS_SELECTOR, f".turn:nth-of-type({before + 1}) :is(.answer, .error)")
    WebDriverWait(driver, WAIT).until(seen.presence_of_element_located(done))
    return driver.find_elements(By.CSS_SELECTOR, ".turn")[before]


def history(driver) -> list[str]:
    """The earlier questions the chat form carries (its hidden `h` inputs)."""
    return [h.get_attribute("value") for h in driver.find_elements(By.CSS_SELECTOR, 'input[name="h"]')]


def screenshot(driver, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / name))


def no_alert(driver) -> bool:
    try:
        driver.switch_to.alert.dismiss()
    except NoAlertPresentException:
        return True
    return False


def sideways(driver) -> int:
    """How many pixels the page scrolls sideways (0 or less when it fits the window)."""
    return driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_enter_sends_and_the_answer_shows_the_highlighted_span_and_source(browser, base_url):
    browser.get(base_url + "/")
    browser.execute_script("window.samePage = true")
    turn = ask(browser, MIAMI)
    assert turn.find_element(By.CSS_SELECTOR, ".question .asked").text == MIAMI
    assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").text == "Miami"
    assert "Diplomatic Arena" in turn.find_element(By.CSS_SELECTOR, ".source-link").text
    assert browser.execute_script("return window.samePage") is True  # no page reload
    assert browser.switch_to.active_element == browser.find_element(By.ID, "q")
    assert history(browser) == [MIAMI]


def test_a_follow_up_is_resolved_and_the_conversation_stays(browser, base_url):
    browser.get(base_url + "/")
    ask(browser, MIAMI)
    turn = ask(browser, FOLLOW_UP)
    assert "(envoys meet)" in turn.find_element(By.CSS_SELECTOR, ".resolved").text
    assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").text == "Steve Witkoff and Jared Kushner"
    marks = [m.text for m in browser.find_elements(By.CSS_SELECTOR, ".sentence mark")]
    assert marks == ["Miami", "Steve Witkoff and Jared Kushner"]
    assert history(browser) == [MIAMI, FOLLOW_UP]
    answers = [a.get_attribute("value") for a in browser.find_elements(By.CSS_SELECTOR, 'input[name="a"]')]
    assert answers == ["Miami", "Steve Witkoff and Jared Kushner"]  # a later "there" or "they" can use them
    screenshot(browser, "chat.png")


def test_turns_asked_with_javascript_are_the_turns_the_server_renders(browser, base_url):
    """chat.js inserts the server's own rendering of a turn: the same markup as the page without it."""
    follow_up, too_long = FOLLOW_UP, "x" * 2001
    browser.get(base_url + "/")
    ask(browser, MIAMI)
    answered = ask(browser, follow_up).get_attribute("outerHTML")
    browser.execute_script("document.getElementById('q').value = arguments[0]", too_long)
    refused = ask(browser, "").get_attribute("outerHTML")
    browser.get(base_url + "/?" + urlencode({"q": follow_up, "h": MIAMI}))
    assert browser.find_elements(By.CSS_SELECTOR, ".turn")[-1].get_attribute("outerHTML") == answered
    browser.get(base_url + "/?" + urlencode({"q": too_long}))
    assert browser.find_elements(By.CSS_SELECTOR, ".turn")[-1].get_attribute("outerHTML") == refused
    assert 'class="error"' in refused and "<mark>Steve Witkoff and Jared Kushner</mark>" in answered


def test_supporting_passages_are_one_click_away(browser, base_url):
    browser.get(base_url + "/")
    turn = ask(browser, MIAMI)
    passage = turn.find_element(By.CSS_SELECTOR, ".passage")
    assert not passage.is_displayed()
    turn.find_element(By.CSS_SELECTOR, ".passages summary").click()
    assert passage.is_displayed()
    assert "score" not in passage.text  # a fused score means nothing to a reader (the API keeps it)
    assert passage.find_elements(By.TAG_NAME, "mark")


def test_the_source_link_opens_the_document_scrolled_to_the_highlight(browser, base_url):
    browser.get(base_url + "/?" + urlencode({"q": MIAMI}))
    browser.find_element(By.CSS_SELECTOR, ".turn .source-link").click()
    highlight = WebDriverWait(browser, WAIT).until(seen.presence_of_element_located((By.ID, "hl")))
    assert highlight.tag_name == "mark" and highlight.text == "Miami"
    assert "Diplomatic Arena" in browser.find_element(By.TAG_NAME, "h1").text
    in_view = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight",
        highlight)
    assert in_view and browser.execute_script("return scrollY") > 0
    screenshot(browser, "document.png")


def test_the_history_keeps_the_last_ten_questions(browser, base_url):
    earlier = [f"Who is the Kremlin spokesman? ({n})" for n in range(10)]
    browser.get(base_url + "/?" + urlencode({"h": earlier}, doseq=True))
    assert len(browser.find_elements(By.CSS_SELECTOR, ".turn")) == 10
    ask(browser, MIAMI)
    assert history(browser) == earlier[1:] + [MIAMI]


def test_one_question_at_a_time(browser, base_url):
    browser.get(base_url + "/")
    browser.execute_script("window.fetch = () => new Promise(() => {})")  # an answer that never comes
    box = browser.find_element(By.ID, "q")
    box.send_keys(MIAMI, Keys.ENTER)
    box.send_keys("Who is the Kremlin spokesman?", Keys.ENTER)
    turns = browser.find_elements(By.CSS_SELECTOR, ".turn")
    assert [t.find_element(By.CSS_SELECTOR, ".asked").text for t in turns] == [MIAMI]
    assert "busy" in browser.find_element(By.ID, "ask").get_attribute("class")


def test_a_network_failure_says_so_in_the_turn(browser, base_url):
    browser.get(base_url + "/")
    browser.execute_script("window.fetch = () => Promise.reject(new TypeError('offline'))")
    turn = ask(browser, MIAMI)
    assert turn.find_element(By.CSS_SELECTOR, ".asked").text == MIAMI
    assert turn.find_element(By.CSS_SELECTOR, ".error").text == "The server could not be reached. Try again."
    assert history(browser) == []
    assert browser.switch_to.active_element == browser.find_element(By.ID, "q")


def test_an_out_of_corpus_question_says_the_sources_dont_say(browser, base_url):
    browser.get(base_url + "/")
    turn = ask(browser, "What is the capital of Australia?")
    assert "The sources don't say" in turn.find_element(By.CSS_SELECTOR, ".no-answer").text
    closest = turn.find_element(By.CSS_SELECTOR, ".passages summary").text
    assert closest.startswith("Closest passages, which don't answer this")
    assert not turn.find_elements(By.CSS_SELECTOR, ".sentence")


def test_a_too_long_question_shows_the_message_inline(browser, base_url):
    browser.get(base_url + "/")
    browser.execute_script("document.getElementById('q').value = 'x'.repeat(2001)")
    turn = ask(browser, "")
    error = turn.find_element(By.CSS_SELECTOR, ".error").text
    assert error == "The question is 2001 characters long; the limit is 2000"
    assert history(browser) == []


def ran_nothing(browser, page: str) -> None:
    assert browser.execute_script("return typeof window.pwned") == "undefined", page
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script"), page
    assert no_alert(browser), page


def test_hostile_text_is_shown_as_text_and_runs_nothing(browser, hostile_url):
    browser.get(hostile_url + "/")
    turn = ask(browser, HOSTILE_QUESTION)
    assert turn.find_element(By.CSS_SELECTOR, ".question .asked").text == HOSTILE_QUESTION
    sentence = turn.find_element(By.CSS_SELECTOR, ".sentence")
    assert '"><img src=x onerror="window.pwned=1">' in sentence.text
    assert sentence.find_element(By.TAG_NAME, "mark").text == "Quimby Smith"
    ran_nothing(browser, "chat, answered by JavaScript")
    screenshot(browser, "hostile.png")
    turn.find_element(By.CSS_SELECTOR, ".source-link").click()
    WebDriverWait(browser, WAIT).until(seen.presence_of_element_located((By.ID, "hl")))
    assert "<script>window.pwned = 1</script>" in browser.find_element(By.CSS_SELECTOR, ".document h1").text
    assert 'onerror="window.pwned=1">' in browser.find_element(By.CSS_SELECTOR, ".document-text").text
    ran_nothing(browser, "document page")
    browser.get(hostile_url + "/?" + urlencode({"q": HOSTILE_QUESTION}))  # rendered by the server
    assert browser.find_element(By.CSS_SELECTOR, ".question .asked").text == HOSTILE_QUESTION
    ran_nothing(browser, "chat rendered by the server")


def test_without_javascript_the_chat_works_as_a_plain_form(plain_browser, base_url):
    plain_browser.get(base_url + "/")
    page = plain_browser.find_element(By.TAG_NAME, "html")
    first = ask(plain_browser, MIAMI)
    assert seen.staleness_of(page)(plain_browser)  # the form posted and a new page came back
    assert first.find_element(By.CSS_SELECTOR, ".sentence mark").text == "Miami"
    second = ask(plain_browser, FOLLOW_UP)
    assert second.find_element(By.CSS_SELECTOR, ".sentence mark").text == "Steve Witkoff and Jared Kushner"
    assert len(plain_browser.find_elements(By.CSS_SELECTOR, ".turn")) == 2
    assert "/" == plain_browser.current_url[len(base_url):]  # a POST to /, not an API call
    screenshot(plain_browser, "chat-no-javascript.png")


def test_on_a_phone_width_the_chat_fits_and_answers(browser, base_url):
    browser.set_window_size(390, 844)
    try:
        browser.get(base_url + "/")
        turn = ask(browser, "Who is the Kremlin spokesman?")
        assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").text == "Dmitry Peskov"
        assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").is_displayed()
        assert sideways(browser) <= 0, "the page scrolls sideways on a phone"
        box = browser.find_element(By.ID, "q")
        assert box.is_displayed() and box.size["width"] > 150
        screenshot(browser, "chat-phone.png")
    finally:
        browser.set_window_size(1280, 800)


def newest_turn_clears_the_question_bar(driver) -> bool:
    """Whether the newest turn's source line and passages toggle sit above the sticky question bar."""
    return driver.execute_script("""
        const turns = document.querySelectorAll('.turn');
        const last = turns[turns.length - 1].querySelector('.passages, .source');
        return last.getBoundingClientRect().bottom <= document.getElementById('ask').getBoundingClientRect().top;""")


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_question_bar_never_covers_the_newest_answer(browser, base_url, size):
    browser.set_window_size(*size)
    try:
        browser.get(base_url + "/")
        for question in (MIAMI, "Who is the Kremlin spokesman?", "How much Russian money is frozen in Europe?"):
            ask(browser, question)
            assert newest_turn_clears_the_question_bar(browser), question
        fits = browser.execute_script("""
            const box = document.getElementById('q'), style = getComputedStyle(box);
            const pen = document.createElement('canvas').getContext('2d');
            pen.font = style.font;
            const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            return pen.measureText(box.placeholder).width <= room;""")
        assert fits, "the placeholder is cut off"
    finally:
        browser.set_window_size(1280, 800)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_question_asked_within_a_scope_is_answered_from_it(browser, base_url, size):
    browser.set_window_size(*size)
    try:
        browser.get(base_url + "/")
        boxes = browser.find_elements(By.CSS_SELECTOR, "input.scope")
        assert {b.get_attribute("value") for b in boxes} == {"diplomatic-arena.txt", "us-russia-talks-stall.txt"}
        box = browser.find_element(By.CSS_SELECTOR, 'input.scope[value="us-russia-talks-stall.txt"]')
        assert box.is_displayed()
        if size[0] < 500:  # a finger can hit it (WCAG 2.2's minimum target, 24 by 24)
            assert box.size["width"] >= 24 and box.size["height"] >= 24, box.size
        box.click()  # on a phone the sources sit below the question bar: the click scrolls down to them
        turn = ask(browser, "How much Russian money is frozen in Europe?")
        links = [a.get_attribute("href") for a in turn.find_elements(By.CSS_SELECTOR, "a[href*='/documents/']")]
        assert links and all("us-russia-talks-stall.txt" in link for link in links)
        assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").text == "roughly $300 billion"
        assert sideways(browser) <= 0
        browser.refresh()  # the scope is kept with the conversation
        kept = browser.find_element(By.CSS_SELECTOR, 'input.scope[value="us-russia-talks-stall.txt"]')
        assert kept.is_selected()
    finally:
        browser.set_window_size(1280, 800)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_conversation_survives_a_reload_and_its_link_reopens_it(browser, base_url, size):
    browser.set_window_size(*size)
    try:
        browser.get(base_url + "/")
        ask(browser, MIAMI)
        ask(browser, FOLLOW_UP)
        link = browser.current_url
        assert re.search(r"\?c=[\w-]+$", link)
        browser.refresh()
        asked = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".turn .asked")]
        assert asked == [MIAMI, FOLLOW_UP]
        assert history(browser) == [MIAMI, FOLLOW_UP]  # follow-ups still read against the reopened turns
        browser.get(base_url + "/")
        assert not browser.find_elements(By.CSS_SELECTOR, ".turn")
        browser.get(link)
        assert len(browser.find_elements(By.CSS_SELECTOR, ".turn")) == 2
        assert sideways(browser) <= 0
        new_chat = browser.find_element(By.ID, "new-chat")
        assert new_chat.is_displayed()
        new_chat.click()
        assert not browser.find_elements(By.CSS_SELECTOR, ".turn") and history(browser) == []
        assert "?c=" not in browser.current_url
    finally:
        browser.set_window_size(1280, 800)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_an_answer_copies_and_the_conversation_exports_with_citations(browser, base_url, size):
    browser.set_window_size(*size)
    try:
        browser.get(base_url + "/")
        turn = ask(browser, MIAMI)
        browser.execute_script("""
            window.copied = null;
            navigator.clipboard.writeText = (text) => { window.copied = text; return Promise.resolve(); };
            window.exported = [];
            URL.createObjectURL = (blob) => { blob.text().then((t) => window.exported.push(t)); return 'about:blank'; };
            URL.revokeObjectURL = () => {};
            HTMLAnchorElement.prototype.click = function () {};  // the download itself is the browser's""")
        copy = turn.find_element(By.CSS_SELECTOR, "button.copy")
        assert copy.is_displayed()
        copy.click()
        copied = WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return window.copied"))
        assert re.fullmatch(r"> .*\*\*Miami\*\*.*\n\n— \[The Diplomatic Arena[^\]]*\]\(http://127\.0\.0\.1:\d+/"
                            r"documents/diplomatic-arena\.txt\?start=\d+&end=\d+&ss=\d+&se=\d+#hl\)\n", copied), copied
        ask(browser, "What is the capital of Australia?")
        for button in ("export-md", "export-json"):
            assert browser.find_element(By.ID, button).is_displayed()
            browser.find_element(By.ID, button).click()
        markdown, exported = WebDriverWait(browser, WAIT).until(
            lambda d: d.execute_script("return window.exported.length == 2 && window.exported"))
        assert markdown.startswith(f"# Conversation with qa\n\n## {MIAMI}\n\n> ") and "**Miami**" in markdown
        assert "The sources don't say." in markdown
        turns = json.loads(exported)["turns"]
        assert [t["found"] for t in turns] == [True, False]
        assert turns[0]["answer"] == "Miami" and turns[0]["source"]["doc_id"] == "diplomatic-arena.txt"
        assert sideways(browser) <= 0
    finally:
        browser.set_window_size(1280, 800)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_keys_focus_clear_and_recall_the_question(browser, base_url, size):
    browser.set_window_size(*size)
    try:
        browser.get(base_url + "/")
        ask(browser, MIAMI)
        assert sideways(browser) <= 0
        box = browser.find_element(By.ID, "q")
        browser.find_element(By.TAG_NAME, "body").click()
        browser.find_element(By.TAG_NAME, "body").send_keys("/")
        assert browser.switch_to.active_element == box and box.get_attribute("value") == ""
        box.send_keys(Keys.ARROW_UP)
        assert box.get_attribute("value") == MIAMI
        box.send_keys(Keys.ESCAPE)
        assert box.get_attribute("value") == ""
    finally:
        browser.set_window_size(1280, 800)


@pytest.fixture(scope="module")
def library_url(index_dir, seeds_dir, tmp_path_factory):
    """A watching server over copies of the seeds and the index, which its tests change."""
    work = tmp_path_factory.mktemp("library")
    shutil.copytree(seeds_dir, work / "seeds")
    shutil.copytree(index_dir, work / "index")
    app = create_app(work / "index", work / "seeds", watch=True)
    open_retriever(app)
    with running(app) as url:
        yield url


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_files_added_in_the_page_become_answerable_and_a_deleted_one_goes(browser, library_url, tmp_path, size):
    browser.set_window_size(*size)
    try:
        year = {1280: 1998, 390: 2003}[size[0]]
        note = tmp_path / f"lighthouse-{size[0]}.txt"
        note.write_text(f"Lighthouse log {size[0]}\nThe lighthouse keeper Ada Quayle retired in {year}.\n")
        browser.get(library_url + "/sources")
        browser.find_element(By.ID, "files").send_keys(str(note))
        done = (By.XPATH, f"//ul[@id='uploads']/li[contains(., 'lighthouse-{size[0]}.txt: indexed, answerable now')]")
        WebDriverWait(browser, 90).until(seen.presence_of_element_located(done))
        screenshot(browser, f"sources-{'phone' if size[0] < 500 else 'desktop'}.png")
        browser.get(library_url + "/")
        turn = ask(browser, f"When did the lighthouse keeper retire? ({size[0]})")
        assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").text == str(year)
        browser.get(library_url + "/sources?" + urlencode({"q": f"Lighthouse log {size[0]}"}))
        browser.find_element(By.CSS_SELECTOR, f'a.delete[data-id="lighthouse-{size[0]}.txt"]').click()
        browser.switch_to.alert.accept()
        WebDriverWait(browser, WAIT).until(lambda d: not d.find_elements(By.CSS_SELECTOR, "a.delete"))
        WebDriverWait(browser, 60).until(
            lambda d: httpx.get(f"{library_url}/api/documents/lighthouse-{size[0]}.txt").status_code == 404)
    finally:
        browser.set_window_size(1280, 800)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_while_the_first_build_runs_the_page_shows_progress_then_turns_into_the_chat(browser, tmp_path, size):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "harbour.txt").write_text("The harbour authority approved a new pier in March.\n"
                                       "The pier will cost $12 million.\n")
    gated = GatedEncoder()
    app = create_app(tmp_path / "index", seeds, build=True, encoder=gated, analyser=WordAnalyser())
    browser.set_window_size(*size)
    try:
        with running(app) as url:
            assert gated.waiting.wait(WAIT)
            browser.get(url + "/")
            assert browser.find_element(By.TAG_NAME, "h1").text == "Indexing the sources"
            assert "embedding 0 of" in browser.find_element(By.CSS_SELECTOR, ".building").text
            assert browser.find_element(By.TAG_NAME, "progress").is_displayed()
            gated.gate.set()
            WebDriverWait(browser, WAIT).until(seen.presence_of_element_located((By.ID, "q")))  # it reloaded itself
            assert "1 document" in browser.find_element(By.CSS_SELECTOR, ".sources").text
    finally:
        gated.gate.set()
        browser.set_window_size(1280, 800)


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_a_shared_server_asks_for_its_token_once(tmp_path_factory, index_dir, seeds_dir, size):
    driver = chromium(tmp_path_factory.mktemp("chromium-profile-token"))
    app = create_app(index_dir, seeds_dir, token="open sesame")
    open_retriever(app)
    try:
        driver.set_window_size(*size)
        with running(app) as url:
            driver.get(url + "/sources")
            assert "/login" in driver.current_url
            assert driver.find_element(By.ID, "token").is_displayed() and sideways(driver) <= 0
            driver.find_element(By.ID, "token").send_keys("wrong", Keys.ENTER)
            error = WebDriverWait(driver, WAIT).until(  # Enter submits the form: wait for the next page
                seen.presence_of_element_located((By.CSS_SELECTOR, ".error")))
            assert "That is not the token" in error.text
            driver.find_element(By.ID, "token").send_keys("open sesame", Keys.ENTER)
            WebDriverWait(driver, WAIT).until(lambda d: d.current_url.endswith("/sources"))
            assert driver.execute_script("return document.cookie") == ""  # HttpOnly: no script can read it
            driver.get(url + "/")
            turn = ask(driver, MIAMI)
            assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").text == "Miami"
            assert sideways(driver) <= 0
    finally:
        driver.quit()


@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_an_answer_from_a_pdf_opens_on_its_original_page(browser, tmp_path_factory, size):
    from bench import samples

    seeds = tmp_path_factory.mktemp("pdf-seeds")
    (seeds / "eastport.pdf").write_bytes(samples.report_pdf(pages=3))
    index = tmp_path_factory.mktemp("pdf-index")
    build_index(seeds, index, progress=False)
    browser.set_window_size(*size)
    try:
        with serving(index, seeds) as url:
            browser.get(url + "/")
            turn = ask(browser, "Who first lit the lighthouse of Northam?")
            assert turn.find_element(By.CSS_SELECTOR, ".sentence mark").text == "Mira Sand"
            assert turn.find_element(By.CSS_SELECTOR, ".source .page").text == "p. 1"
            turn.find_element(By.CSS_SELECTOR, ".page-link").click()
            image = WebDriverWait(browser, WAIT).until(
                seen.presence_of_element_located((By.CSS_SELECTOR, "img.original-page")))
            WebDriverWait(browser, WAIT).until(lambda d: d.execute_script(
                "return arguments[0].complete && arguments[0].naturalWidth > 0", image))
            assert image.size["width"] <= size[0]
            screenshot(browser, f"pdf-page-{'phone' if size[0] < 500 else 'desktop'}.png")
            browser.find_element(By.LINK_TEXT, "← Back to the text").click()
            highlight = WebDriverWait(browser, WAIT).until(seen.presence_of_element_located((By.ID, "hl")))
            assert highlight.text == "Mira Sand"
            assert "— p. ii —" in browser.find_element(By.CSS_SELECTOR, ".document-text").text
    finally:
        browser.set_window_size(1280, 800)

// The e-library's reader: foliate-js (vendored in ./foliate) over the library's signed, short-lived content URLs.
// The EPUB is never downloaded as a file: each resource (OPF, a chapter, a stylesheet) is fetched on its own
// under a grant that the server renews only while the loan is active. Position and bookmarks sync to the server.
import './foliate/view.js'
import { EPUB } from './foliate/epub.js'

const root = document.getElementById('reader')
const status = document.getElementById('reader-status')
const grantUrl = root.dataset.grantUrl
const stateUrl = root.dataset.stateUrl
const csrf = root.dataset.csrf
let grant = null
let fontSize = Number(localStorage.getItem('library-font-size') || '100')
let bookmarks = []

const ended = () => { status.textContent = root.dataset.ended; root.dataset.state = 'ended' }

async function renew() {
    const response = await fetch(grantUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    if (!response.ok) { ended(); throw new Error('no active loan') }
    grant = await response.json()
}

async function get(name) {
    if (!grant || Date.now() / 1000 > grant.expires - 20) await renew()
    const response = await fetch(grant.base + name.split('/').map(encodeURIComponent).join('/'),
        { credentials: 'same-origin' })
    if (response.status === 404) return null
    if (response.status === 403) { ended(); throw new Error('refused') }
    if (!response.ok) throw new Error(`content: ${response.status}`)
    return response
}

const loader = {
    loadText: async name => { const r = await get(name); return r ? r.text() : null },
    loadBlob: async name => { const r = await get(name); return r ? r.blob() : null },
    getSize: name => (grant && grant.sizes[name]) || 0,
}

let saveTimer = null
function save(body) {
    clearTimeout(saveTimer)
    saveTimer = setTimeout(() => fetch(stateUrl, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
        body: JSON.stringify(body),
    }), 400)
}

const styles = () => `html { font-size: ${fontSize}% !important; }`

function showBookmarks(view) {
    const select = document.getElementById('bookmarks')
    select.length = 1
    bookmarks.forEach((cfi, i) => select.add(new Option(`${i + 1}`, cfi)))
    select.onchange = () => { if (select.value) view.goTo(select.value) }
}

async function main() {
    await renew()
    const book = await new EPUB(loader).init()
    const view = document.createElement('foliate-view')
    root.append(view)
    await view.open(book)
    view.renderer.setAttribute('flow', 'paginated')
    view.renderer.setAttribute('max-column-count', '1')
    view.renderer.setStyles?.(styles())
    bookmarks = grant.bookmarks || []
    showBookmarks(view)
    let position = grant.position || null
    view.addEventListener('relocate', event => {
        position = event.detail.cfi
        root.dataset.position = position || ''
        root.dataset.fraction = String(event.detail.fraction ?? '')
        if (position) save({ position })
    })
    view.addEventListener('load', () => { root.dataset.loaded = String(Number(root.dataset.loaded || '0') + 1) })
    await view.init({ lastLocation: grant.position || undefined, showTextStart: false })
    if (!grant.position) await view.goTo(book.sections.findIndex(section => section.linear !== 'no') || 0)
    root.dataset.dir = book.dir || 'ltr'
    // a fixed-layout book (a picture book) is drawn at its own page size and scaled to fit: no text size to change
    root.dataset.layout = view.isFixedLayout ? 'pre-paginated' : 'reflowable'
    if (view.isFixedLayout) for (const id of ['font-smaller', 'font-larger']) document.getElementById(id).hidden = true
    document.getElementById('page-left').onclick = () => view.goLeft()
    document.getElementById('page-right').onclick = () => view.goRight()
    const resize = step => {
        fontSize = Math.min(200, Math.max(70, fontSize + step))
        localStorage.setItem('library-font-size', String(fontSize))
        view.renderer.setStyles?.(styles())
    }
    document.getElementById('font-smaller').onclick = () => resize(-10)
    document.getElementById('font-larger').onclick = () => resize(10)
    document.getElementById('bookmark').onclick = () => {
        if (position && !bookmarks.includes(position)) {
            bookmarks.push(position)
            showBookmarks(view)
            save({ position, bookmarks })
        }
    }
    document.addEventListener('keydown', event => {
        if (event.key === 'ArrowLeft') view.goLeft()
        if (event.key === 'ArrowRight') view.goRight()
    })
    root.dataset.ready = '1'
}

main().catch(error => { if (root.dataset.state !== 'ended') status.textContent = String(error) })

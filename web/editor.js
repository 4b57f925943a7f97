// The config editor: a plain <textarea> (so the browser's own editing, undo, selection and
// accessibility all work) over a layer of line marks, with a gutter of line numbers. Both the
// marks and the gutter follow the textarea's scrolling. Lines are a fixed height (--lh in
// style.css), so a line's position is (line - 1) * height.
//
//   const editor = createEditor(panel, { onInput });
//   editor.text / editor.text = '...'       // the textarea's value
//   editor.setMarks([{ line, severity, message }])
//   editor.goTo(line, utf16Column)         // focus, caret there, scrolled into view

const LINE_HEIGHT = 20; // px, as --lh
const PADDING = 8; // px, as --pad

export function createEditor(panel, { onInput }) {
  const textarea = panel.querySelector('textarea');
  const gutter = panel.querySelector('.gutter-inner');
  const marksLayer = panel.querySelector('.marks');
  let marks = [];
  let shownLines = -1;
  let shownMarks = '';

  const lineCount = () => textarea.value.split('\n').length;

  function drawGutter() {
    const count = lineCount();
    const key = JSON.stringify(marks.map((m) => [m.line, m.severity]));
    if (count === shownLines && key === shownMarks) return;
    shownLines = count;
    shownMarks = key;
    const severityOf = new Map();
    for (const m of marks) {
      if (severityOf.get(m.line) !== 'error') severityOf.set(m.line, m.severity);
    }
    const rows = [];
    for (let n = 1; n <= count; n += 1) {
      const row = document.createElement('div');
      row.textContent = String(n);
      const severity = severityOf.get(n);
      if (severity) row.className = severity;
      rows.push(row);
    }
    gutter.replaceChildren(...rows);
    marksLayer.replaceChildren(
      ...[...severityOf].map(([line, severity]) => {
        const bar = document.createElement('div');
        bar.className = severity;
        bar.dataset.testid = 'editor-mark';
        bar.dataset.line = String(line);
        bar.style.top = `${PADDING + (line - 1) * LINE_HEIGHT}px`;
        bar.title = marks
          .filter((m) => m.line === line)
          .map((m) => m.message)
          .join('\n');
        return bar;
      }),
    );
    follow();
  }

  function follow() {
    const y = `translateY(${-textarea.scrollTop}px)`;
    gutter.style.transform = y;
    marksLayer.style.transform = y;
  }

  textarea.addEventListener('scroll', follow);
  textarea.addEventListener('input', () => {
    drawGutter();
    onInput(textarea.value);
  });

  return {
    textarea,
    get text() {
      return textarea.value;
    },
    set text(value) {
      textarea.value = value;
      textarea.scrollTop = 0;
      textarea.setSelectionRange(0, 0);
      drawGutter();
    },
    setMarks(list) {
      marks = list;
      drawGutter();
    },
    // Puts the caret at a 1-based line and 1-based UTF-16 column.
    goTo(line, column) {
      const lines = textarea.value.split('\n');
      const index = Math.min(Math.max(line, 1), lines.length) - 1;
      let offset = 0;
      for (let i = 0; i < index; i += 1) offset += lines[i].length + 1;
      offset += Math.min(Math.max((column || 1) - 1, 0), lines[index].length);
      textarea.focus();
      textarea.setSelectionRange(offset, offset);
      const top = PADDING + index * LINE_HEIGHT;
      const view = textarea.clientHeight;
      if (top < textarea.scrollTop || top + LINE_HEIGHT > textarea.scrollTop + view) {
        textarea.scrollTop = Math.max(0, top - view / 3);
      }
      follow();
    },
  };
}

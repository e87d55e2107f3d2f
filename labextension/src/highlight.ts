/**
 * SQL highlighting for `%%stream` cells: a CodeMirror 6 extension that gives an editor whose first line starts
 * with `%%stream` the SQL language (JupyterLab's own, from its language registry) instead of the kernel's,
 * and marks that first line as the magic it is. It follows the text as it is edited.
 */

import { Language, language } from '@codemirror/language';
import {
  Compartment,
  EditorState,
  Extension,
  Prec,
  Text
} from '@codemirror/state';
import { Decoration, EditorView } from '@codemirror/view';

const MAGIC = /^%%stream(\s|$)/;

/** Whether a cell's text is a `%%stream` cell. */
export function isStreamCell(doc: Text | string): boolean {
  const first =
    typeof doc === 'string' ? doc.split('\n', 1)[0] : doc.line(1).text;
  return MAGIC.test(first);
}

const magicLine = Decoration.line({ class: 'sn-stream-magic' });

/**
 * The extension for one editor (`initial`: whether its text is a `%%stream` cell now). The language facet
 * takes its first value: at the highest precedence, SQL wins over the kernel's language. It sits in a
 * compartment that holds it only while the text is a `%%stream` cell, so other editors are untouched.
 */
export function streamSql(sql: Language, initial: boolean): Extension {
  const compartment = new Compartment();
  const sqlLanguage = Prec.highest(language.of(sql));
  return [
    compartment.of(initial ? sqlLanguage : []),
    EditorState.transactionExtender.of(tr => {
      if (!tr.docChanged) {
        return null;
      }
      const now = isStreamCell(tr.newDoc);
      if (now === isStreamCell(tr.startState.doc)) {
        return null;
      }
      return { effects: compartment.reconfigure(now ? sqlLanguage : []) };
    }),
    EditorView.decorations.compute(['doc'], state =>
      isStreamCell(state.doc)
        ? Decoration.set([magicLine.range(0)])
        : Decoration.none
    )
  ];
}

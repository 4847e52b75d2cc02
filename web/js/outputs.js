// The Outputs panel: pictures a job wrote as thumbnails that open large (a lightbox over the editor), other files
// (checkpoints, JSON) as download links, all read through GET /view.
import { viewUrl } from './api.js';

const $ = (id) => document.getElementById(id);

/** Shows an output large, over the editor; click or Escape closes it. */
export function openImage(file) {
  const box = $('lightbox');
  const img = box.querySelector('img');
  img.src = viewUrl(file);
  img.alt = file.filename;
  box.querySelector('a').href = viewUrl(file);
  box.querySelector('.caption').textContent = `${file.subfolder ? `${file.subfolder}/` : ''}${file.filename}`;
  box.hidden = false;
}

/** Adds files a job wrote to the top of the Outputs panel. */
export function renderOutputs(files) {
  const box = $('outputs');
  for (const f of files) {
    const ext = f.filename.slice(f.filename.lastIndexOf('.')).toLowerCase();
    let item;
    if (['.png', '.jpg', '.jpeg', '.webp'].includes(ext)) {
      item = document.createElement('img');
      item.src = viewUrl(f);
      item.alt = f.filename;
      item.className = 'output';
      item.addEventListener('click', () => openImage(f));
    } else {
      // Checkpoints and other files a job wrote: a download link.
      item = document.createElement('a');
      item.href = viewUrl(f);
      item.download = f.filename;
      item.textContent = f.filename;
      item.className = 'output-file';
    }
    item.title = `${f.subfolder ? `${f.subfolder}/` : ''}${f.filename}`;
    box.prepend(item);
  }
}


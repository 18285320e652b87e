"""The demo page at `/`: pick a chat and a member, type, watch the chat (plain HTML+JS, no CDN).
Also official account followers (公众号粉丝) and customer-group mass-send tasks a member confirms."""

PAGE_HTML = r"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>企业微信模拟器 · 反诈哨兵</title>
<style>
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.5 -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; background: #eef0f3; color: #222; }
  header { background: #2b78e4; color: #fff; padding: 8px 16px; font-size: 16px; }
  header small { opacity: .8; margin-left: 12px; font-size: 12px; }
  main { display: flex; height: calc(100vh - 40px); }
  #side { width: 260px; background: #fff; border-right: 1px solid #ddd; overflow-y: auto; }
  #side h3 { margin: 10px 12px 4px; font-size: 12px; color: #888; font-weight: normal; }
  .chat { padding: 8px 12px; cursor: pointer; border-bottom: 1px solid #f2f2f2; }
  .chat:hover { background: #f5f7fa; }
  .chat.sel { background: #e6f0ff; }
  .chat .n { font-weight: 600; }
  .tag { display: inline-block; font-size: 11px; padding: 0 5px; border-radius: 3px; margin-left: 4px; background: #eee; color: #666; }
  .tag.ext { background: #fff1e0; color: #c66900; }
  .tag.unread { background: #e54; color: #fff; }
  #pane { flex: 1; display: flex; flex-direction: column; min-width: 0; }
  #title { padding: 8px 16px; background: #fff; border-bottom: 1px solid #ddd; }
  #title .sub { color: #888; font-size: 12px; }
  #log { flex: 1; overflow-y: auto; padding: 12px 16px; }
  .msg { margin: 8px 0; display: flex; flex-direction: column; align-items: flex-start; }
  .msg .who { font-size: 12px; color: #888; }
  .bubble { background: #fff; padding: 8px 12px; border-radius: 6px; max-width: 75%; white-space: pre-wrap; word-break: break-word; box-shadow: 0 1px 1px rgba(0,0,0,.05); }
  .msg.bot .bubble { background: #e8f6ee; }
  .msg.robot .bubble { background: #fff8e1; }
  .msg.me { align-items: flex-end; }
  .msg.me .bubble { background: #d4e7ff; }
  .bubble h1, .bubble h2, .bubble h3, .bubble h4 { margin: 4px 0; font-size: 15px; }
  .bubble blockquote { margin: 4px 0; padding-left: 8px; border-left: 3px solid #ccc; color: #666; }
  .bubble code { background: #f0f0f0; padding: 0 3px; border-radius: 3px; }
  .c-info { color: #2a9d3c; } .c-comment { color: #888; } .c-warning { color: #e07000; }
  .at { color: #2b78e4; }
  .note { font-size: 12px; color: #c66900; margin-top: 2px; }
  #bar { display: flex; gap: 8px; padding: 10px 16px; background: #fff; border-top: 1px solid #ddd; align-items: center; }
  #bar select, #bar input, #bar button { font: inherit; padding: 6px 8px; }
  #text { flex: 1; }
  #bar button { background: #2b78e4; color: #fff; border: 0; border-radius: 4px; cursor: pointer; padding: 6px 16px; }
  #bar button:disabled { background: #9bb; }
  #status { font-size: 12px; color: #888; padding: 0 16px 6px; background: #fff; min-height: 18px; }
  .bubble img { display: block; max-width: 260px; max-height: 360px; margin: 2px 0; border-radius: 4px; }
  #pic { display: none; }
  #bar button.pic { background: #5a8f3c; }
</style>
</head>
<body>
<header>企业微信模拟器 <small>反诈哨兵 · 本地演示（不连接腾讯服务器）</small> <a id="console-link" href="{{CONSOLE_URL}}" target="_blank" style="color:#fff;float:right">打开反诈中心控制台 →</a></header>
<main>
  <div id="side"></div>
  <div id="pane">
    <div id="title"><span id="tname">请选择左侧的会话</span> <div class="sub" id="tsub"></div></div>
    <div id="log"></div>
    <div id="status"></div>
    <div id="bar">
      <label>成员 <select id="member"></select></label>
      <input id="text" placeholder="输入消息；群聊里会自动 @ 机器人。例如：#帮助" autocomplete="off">
      <button id="send">发送</button>
      <input type="file" id="pic" accept="image/*">
      <button id="picbtn" class="pic" title="发一张截图给机器人（输入框里的文字一起发出）">发图片</button>
    </div>
  </div>
</main>
<script>
const KIND = {community: "社区", bank: "银行", school: "学校", square: "广场", network: "网络", station: "派出所",
  unit: "单位", enterprise: "企业", linkage: "联动", leadership: "领导", single: "单聊", appchat: "应用群", mp: "公众号"};
const ROLE = {resident: "居民", police: "民警", liaison: "联络员", admin: "管理员", propaganda: "宣传员"};
let chats = [], cur = null, since = 0, names = {}, lastSeen = {};

function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;"); }

// WeCom markdown subset: headings, bold, links, inline code, > quote, <font color>, <@userid>
function md(src) {
  let h = esc(src);
  h = h.replace(/&lt;font color=&quot;(info|comment|warning)&quot;&gt;([\s\S]*?)&lt;\/font&gt;/g, '<span class="c-$1">$2</span>');
  h = h.replace(/&lt;@([^&\s]+)&gt;/g, (m, u) => '<span class="at">@' + esc(names[u] || u) + '</span>');
  h = h.replace(/`([^`\n]+)`/g, "<code>$1</code>");
  h = h.replace(/\*\*([^*\n]+)\*\*/g, "<b>$1</b>");
  h = h.replace(/\[([^\]\n]+)\]\(([^)\s]+)\)/g, (m, t, u) => /^https?:/.test(u) ? '<a href="' + u + '" target="_blank">' + t + '</a>' : t);
  return h.split("\n").map(line => {
    let m = line.match(/^(#{1,6}) (.*)$/);
    if (m) return "<h" + Math.min(m[1].length + 1, 4) + ">" + m[2] + "</h" + Math.min(m[1].length + 1, 4) + ">";
    m = line.match(/^&gt; ?(.*)$/);
    if (m) return "<blockquote>" + m[1] + "</blockquote>";
    return line + "\n";
  }).join("").replace(/\n$/, "");
}

async function j(url, opt) { const r = await fetch(url, opt); return [r.status, await r.json()]; }

function chatLabel(c) {
  return '<span class="n">' + esc(c.name) + '</span>' + '<span class="tag">' + esc(KIND[c.kind] || c.kind) + '</span>' +
    (c.external ? '<span class="tag ext">外部群</span>' : '');
}

function renderSide() {
  const groups = chats.filter(c => c.kind !== "single" && c.kind !== "mp"), dms = chats.filter(c => c.kind === "single");
  const mps = chats.filter(c => c.kind === "mp");
  const part = (title, list) => '<h3>' + title + '</h3>' + list.map(c =>
    '<div class="chat' + (cur && cur.id === c.id ? ' sel' : '') + '" data-id="' + esc(c.id) + '">' + chatLabel(c) + '</div>').join("");
  const side = document.getElementById("side");
  side.innerHTML = part("群聊", groups) + part("与应用的单聊", dms) + (mps.length ? part("公众号粉丝（微信）", mps) : "") +
    '<h3>客户群群发任务（待成员确认）</h3><div id="tasks"></div>';
  renderTasks();
  side.querySelectorAll(".chat").forEach(el => el.onclick = () => pick(el.dataset.id));
}

function pick(id) {
  cur = chats.find(c => c.id === id); since = 0;
  document.getElementById("log").innerHTML = "";
  document.getElementById("tname").textContent = cur.name;
  document.getElementById("tsub").textContent = (cur.kind === "mp" ? "微信用户在县反诈公众号里提问（公众号回调）；答复是纯文字。" :
    cur.external ? "外部群：成员是微信用户，群里没有机器人，@ 机器人不会送达；宣传只能由群主确认群发任务后发出。" :
    cur.kind === "single" ? "成员与应用「反诈哨兵」的单聊（应用回调）" : "内部群：@ 智能机器人「反诈哨兵」提问") +
    "　成员 " + cur.members.length + " 人";
  const sel = document.getElementById("member");
  sel.innerHTML = cur.members.map(m => '<option value="' + esc(m.userid) + '">' + esc(m.name) + "（" + esc(ROLE[m.role] || m.role) + "）</option>").join("");
  renderSide(); poll();
}

function who(m) {
  if (m.from === "bot") return "🤖 反诈哨兵";
  if (m.from === "wecom") return "💬 企业微信（群发助手）";
  if (m.from === "wechat") return "💬 微信";
  if (m.from.startsWith("robot:")) return "📢 群机器人 " + m.from.slice(6);
  return names[m.from] || m.from;
}

function addMsg(m) {
  const log = document.getElementById("log");
  const div = document.createElement("div");
  const me = m.from === document.getElementById("member").value;
  div.className = "msg " + (m.from === "bot" ? "bot" : m.from.startsWith("robot:") ? "robot" : me ? "me" : "");
  const t = new Date(m.time * 1000).toLocaleTimeString("zh-CN", {hour12: false});
  const body = (m.msgtype === "markdown" || m.msgtype === "markdown_v2" || m.msgtype === "template_card" ||
                m.msgtype === "news" || m.msgtype === "textcard") ? md(m.text) : esc(m.text);
  let mentions = (m.mentions || []).filter(x => x !== "bot").map(x => x === "@all" ? "所有人" : (names[x] || x));
  div.innerHTML = '<div class="who">' + esc(who(m)) + " · " + t + (m.via ? " · " + esc(m.via) : "") + '</div>' +
    '<div class="bubble">' + (m.picture ? '<img src="/sim/picture/' + encodeURIComponent(m.picture) + '" alt="图片">' : "") +
    (m.picture && /^\[图片/.test(m.text) ? "" : body) + '</div>' +
    (mentions.length ? '<div class="note">@ ' + esc(mentions.join("、")) + '</div>' : "") +
    (m.unfinished ? '<div class="note">（流式回复未结束）</div>' : "");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.appendChild(div);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

const TASK_STATE = {waiting: "等待确认", sent: "已发送", ignored: "成员未处理", cancelled: "已停止（未发出）"};
async function renderTasks() {
  const box = document.getElementById("tasks");
  if (!box) return;
  const [s, list] = await j("/sim/mass_tasks");
  if (s !== 200) return;
  box.innerHTML = list.length ? list.slice().reverse().map(t =>
    '<div class="chat"><div class="n">' + esc(names[t.sender] || t.sender) + " → " + esc(t.groups.map(g => g.name).join("、")) +
    '<span class="tag' + (t.state === "waiting" ? " ext" : "") + '">' + esc(TASK_STATE[t.state] || t.state) + '</span></div>' +
    '<div class="note">' + esc((t.text || "[附件]").slice(0, 60)) + '</div>' +
    ((t.state === "waiting" || t.state === "ignored") ? '<button data-act="confirm" data-id="' + esc(t.msgid) + '">在手机上确认发送</button> ' +
      (t.state === "waiting" ? '<button data-act="ignore" data-id="' + esc(t.msgid) + '">不处理</button>' : "") : "") + '</div>').join("")
    : '<div class="chat note">暂无</div>';
  box.querySelectorAll("button").forEach(b => b.onclick = async () => {
    await j("/sim/mass_tasks/" + b.dataset.act, {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({msgid: b.dataset.id})});
    renderTasks(); poll();
  });
}

let polling = false;
async function poll() {
  if (!cur || polling) return;
  polling = true;
  try {
    const id = cur.id;
    const [s, list] = await j("/sim/messages?chat=" + encodeURIComponent(id) + "&since=" + since);
    if (s === 200 && cur && cur.id === id) for (const m of list) { addMsg(m); since = Math.max(since, m.seq); }
  } catch (e) { document.getElementById("status").textContent = "连接模拟器失败：" + e; }
  finally { polling = false; }
}

async function send() {
  const input = document.getElementById("text");
  const text = input.value.trim();
  if (!cur || !text) return;
  const btn = document.getElementById("send"); btn.disabled = true;
  try {
    const mp = cur.kind === "mp";
    const [s, r] = await j(mp ? "/sim/mp/say" : "/sim/say", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(mp ? {openid: cur.members[0].userid, text} : {chat: cur.id, user: document.getElementById("member").value, text})});
    document.getElementById("status").textContent = s !== 200 ? ("发送失败：" + (r.error || s)) :
      r.delivered === false ? ("未送达机器人：" + r.reason) : ("已送达机器人（" + (r.channel === "app" ? "应用回调" : r.channel === "mp" ? "公众号回调" : "智能机器人回调") + "），消息号 " + r.msgid);
    if (s === 200) input.value = "";
  } finally { btn.disabled = false; poll(); }
}

async function sendPicture(file) {
  if (!cur || !file) return;
  const b64 = await new Promise((ok, bad) => { const r = new FileReader();
    r.onload = () => ok(String(r.result).split(",")[1] || ""); r.onerror = bad; r.readAsDataURL(file); });
  const input = document.getElementById("text"), text = input.value.trim();
  const mp = cur.kind === "mp";
  const body = mp ? {openid: cur.members[0].userid, msgtype: "image", image: b64}
    : {chat: cur.id, user: document.getElementById("member").value, image: b64, text};
  const [s, r] = await j(mp ? "/sim/mp/say" : "/sim/say", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body)});
  document.getElementById("status").textContent = s !== 200 ? ("发送失败：" + (r.error || s)) :
    r.delivered === false ? ("未送达机器人：" + r.reason) : ("图片已送达机器人，消息号 " + r.msgid);
  if (s === 200 && !mp) input.value = "";
  poll();
}

document.getElementById("send").onclick = send;
document.getElementById("picbtn").onclick = () => document.getElementById("pic").click();
document.getElementById("pic").onchange = e => { sendPicture(e.target.files[0]); e.target.value = ""; };
document.getElementById("text").addEventListener("keydown", e => { if (e.key === "Enter" && !e.isComposing) send(); });

(async () => {
  const [, list] = await j("/sim/chats");
  chats = list;
  for (const c of chats) for (const m of c.members) names[m.userid] = c.kind === "mp" ? c.name.replace("（公众号粉丝）", "") : m.name;
  renderSide();
  if (chats.length) pick(chats[0].id);
  setInterval(() => { poll(); renderTasks(); }, 1000);
})();
</script>
</body>
</html>
"""

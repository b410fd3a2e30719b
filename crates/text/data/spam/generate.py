#!/usr/bin/env python3
"""Builds ham.txt and spam.txt for the qunzhu spam classifier.

Everything here was written for the qunzhu project (MIT OR Apache-2.0, like the code): hand-written
group-chat lines and ad templates, expanded with slot values and the evasions that spammers use
(full-width, traditional characters, separators and emoji between characters, Chinese numerals,
homophones, pinyin). Deterministic: the same script always writes the same files.

Run from anywhere:  python3 crates/text/data/spam/generate.py
One message per line; a newline inside a message is written as the two characters \\n.
"""

import os
import random

SEED = 20240611
rng = random.Random(SEED)
HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------------
# Slot values shared by ham and spam templates
# ---------------------------------------------------------------------------------------------
SLOTS = {
    "name": ["王老师", "李老师", "张老师", "陈老师", "刘姐", "小美", "阿杰", "老周", "班长", "群主",
             "小雨妈妈", "乐乐爸爸", "朵朵妈", "浩浩奶奶", "豆豆妈妈", "店长", "客服小林", "教练", "Kevin", "阿May"],
    "kid": ["小雨", "乐乐", "朵朵", "浩浩", "豆豆", "嘉怡", "子轩", "一诺", "梓涵", "皓宇"],
    "time": ["明早8点", "今晚7点半", "周六上午10点", "下午3点", "周三晚上8点", "明天中午12点", "周日下午两点",
             "后天上午9点", "今天下午4点半", "本周五晚7点"],
    "day": ["周一", "周二", "周三", "周四", "周五", "周六", "周日", "明天", "后天", "下周一"],
    "place": ["学校东门", "体育馆", "三楼会议室", "小区南门", "万达广场", "图书馆二楼", "地铁站B口", "门店",
              "公司楼下", "操场"],
    "price": ["38", "45", "59", "99", "128", "168", "199", "25", "12.5", "300"],
    "item": ["校服", "作业本", "水杯", "跳绳", "蛋白粉", "瑜伽垫", "羽毛球拍", "键盘", "显示器", "真题卷",
             "护膝", "运动鞋", "耳机", "台灯", "书包"],
    "subject": ["数学", "语文", "英语", "物理", "化学", "科学"],
    "n": ["2", "3", "5", "10", "15", "20", "30"],
    "order": ["4317", "8802", "1290", "5561", "7734", "2048"],
    "emoji": ["😂", "👍", "🙏", "😊", "🤣", "💪", "🌹", "😅", "👌", "❤️", "🎉", "😄"],
    "tech": ["Rust", "Go", "Python", "K8s", "Docker", "Redis", "MySQL", "Nginx", "Vue", "React",
             "PostgreSQL", "Kafka", "Linux"],
    "city": ["北京", "上海", "深圳", "杭州", "成都", "广州", "武汉", "南京", "西安", "苏州"],
    "course": ["健身入门", "理财课", "写作课", "摄影课", "PPT课", "Python课", "考研英语", "公考申论"],
    "ename": ["Tom", "Anna", "Mike", "Sara", "Leo", "Nina", "Raj", "Chen", "Olga", "Sam"],
    "eday": ["Monday", "Tuesday", "Friday", "Saturday", "tomorrow", "tonight", "next week"],
    "etech": ["Rust", "Go", "Python", "the API", "the bot", "Docker", "nginx", "Postgres", "the CLI"],
}


def fill(template, slots=SLOTS):
    out = template
    for _ in range(8):
        start = out.find("{")
        if start < 0:
            break
        end = out.find("}", start)
        if end < 0:
            break
        key = out[start + 1:end]
        if key not in slots:
            break
        out = out[:start] + rng.choice(slots[key]) + out[end + 1:]
    return out


# ---------------------------------------------------------------------------------------------
# Ham: ordinary chat in several kinds of community
# ---------------------------------------------------------------------------------------------
HAM = {
    "parents": [
        "各位家长好，{day}学校组织春游，请给孩子准备好水和午餐，{time}在{place}集合",
        "收到，谢谢{name}", "收到", "收到👌", "好的，收到", "{kid}今天没带作业本，麻烦老师通融一下",
        "请问{subject}作业是第几页？孩子说没记下来", "{subject}作业是练习册第{n}页到第{n}页",
        "明天要交{item}费{price}元，请用微信支付给班主任", "家委会收班费，每人{price}元，微信转账备注孩子名字",
        "{kid}妈妈，你们家孩子报了哪个兴趣班？", "学校门口修路，{time}接孩子的家长注意绕行",
        "今天降温了，记得给孩子多穿件外套", "请各位家长{day}前在小程序里填写健康打卡",
        "辛苦老师了🙏", "谢谢老师这么用心", "老师辛苦了！", "{kid}发烧了，今天请假一天，麻烦{name}",
        "有没有家长捡到一个蓝色{item}？上面写着{kid}的名字", "{day}家长会，{time}，在各班教室",
        "期中考试成绩已经发到家长端，请家长查收", "运动会需要家长志愿者，有空的接龙报名",
        "接龙：1. {kid}妈妈 2. {kid}爸爸 3.", "谁家孩子知道今天的{subject}听写范围？",
        "家委会提醒：{day}交校服钱{price}元，尺码表在群文件", "孩子们今天表现都很棒，给大家加油！",
        "兼职的家长如果接送不方便，可以找我拼车，我家就在{place}附近", "请问延时服务怎么报名？",
        "学校通知：{day}停课一天，进行消防演练", "有人知道绘本馆几点关门吗", "今天的手工作业要用到卡纸和胶水",
        "老师，{kid}说他的{item}落在教室了，明天能帮忙找一下吗", "家长们注意：放学时间调整为下午4点10分",
        "明天穿运动服，有体育课", "班级群请不要发与学习无关的内容，谢谢配合", "感谢{kid}家长给班级捐的图书👍",
        "{kid}昨天回家说很喜欢新来的{subject}老师", "作业拍照上传到班级小管家就可以",
        "求助：孩子晚上写作业到十点，各位家长怎么安排的？", "暑假托管班有家长了解吗？",
        "这周轮到我们家值日打扫教室，我{time}过去", "疫苗接种通知已经发了，需要签回执",
        "学校的缴费二维码只认微信支付吗？我用支付宝不行", "孩子近视了，大家都去哪家医院查的？",
        "{name}，春游的费用是{price}元对吗", "合唱比赛的服装家委会统一买，每套{price}元",
        "今天下雨，放学可能会晚十分钟", "有没有一起拼团买课外书的？我已经问了书店，八折",
        "提醒一下，明天是最后一天交{item}", "{kid}把我家孩子的{item}拿错了，明天换回来就好",
        "孩子说今天{subject}课小测了，成绩什么时候出？", "谢谢大家，找到了，在门卫那里",
        "周末有没有家长带孩子去科技馆的，一起呀", "我家{kid}明天请假去看牙医，作业回来补上",
    ],
    "shop": [
        "你好，我上周买的{item}到现在还没发货，订单尾号{order}", "请问{item}还有货吗？",
        "已经发货了，单号稍后发您", "店长，{item}有没有大一码的", "收到货了，质量不错，好评👍",
        "这个{item}多少钱？", "{item}现在活动价{price}元，群里的老客户再送小样",
        "亲，退换货请在订单页申请，七天无理由", "客服在吗？我的快递显示签收了但我没收到",
        "快递单号是SF1234567890，帮我查一下", "周末门店营业到晚上9点", "新品{day}上架，欢迎来店里试穿",
        "能开发票吗？公司报销要用", "我用微信支付付的款，怎么显示待付款", "退款已经原路返回了，注意查收",
        "你们家的{item}洗了会缩水吗", "老板，上次那款{item}还会补货吗", "群里下单有优惠吗",
        "{name}帮我留一件M码，我{time}过去拿", "这次包装比上次好多了", "快递太慢了，等了五天",
        "售后态度很好，点赞", "请问会员积分怎么兑换？", "店里{day}盘点，暂停营业一天",
        "群规：请勿在群里发广告，违者移出", "{item}到了，颜色比图片暗一点", "门店地址是{place}旁边",
        "有人买过这款{item}吗？好用吗", "价格能再便宜点吗，买两件", "亲，两件以上打九折哦",
        "客服回复太慢了吧", "发错货了，我要的是黑色", "抱歉亲，马上给您补发",
        "收到赠品了，谢谢店长", "想问下保修期多久？", "保修一年，人为损坏不保",
        "{item}和上次买的不一样，是换供应商了吗", "店里的兼职小哥服务很好", "还有没有优惠券",
        "双十一预售{day}开始，定金{price}元", "我想退货，尺码不合适", "外卖能送到{place}吗",
    ],
    "fitness": [
        "今天打卡，跑了{n}公里💪", "教练，深蹲膝盖疼是姿势不对吗", "{time}{place}集合，一起夜跑",
        "周末约羽毛球，还差两个人", "打卡：平板支撑{n}分钟", "加油！坚持就是胜利", "大家加油💪",
        "今天练腿，走路都在抖😂", "求推荐一款不伤膝盖的{item}", "蛋白粉早上喝还是练完喝？",
        "我减了{n}斤了，谢谢群里的伙伴督促", "今晚下雨，夜跑取消", "场地费AA，每人{price}元",
        "瑜伽课{day}改到{time}", "有没有人一起报名半马？", "骑行群{day}去{place}，早上7点出发",
        "新手问一下，一周练几次合适", "拉伸很重要，别跳过", "今天状态不好，休息一天",
        "教练说我动作进步很大，开心", "有人在{city}吗，周末约球", "谁有多余的{item}借我用一下",
        "打卡第{n}天", "我膝盖有旧伤，能跳绳吗", "饮食控制比练更重要", "加油加油，明天继续",
        "健身房年卡转让，还剩八个月，有需要的私聊", "周六的徒步活动报名接龙", "天气太热，改成早上6点",
        "{name}今天配速好快", "泳池{day}换水，不开放", "想问一下大家用什么跑步软件记录",
        "比赛装备清单发在群公告了", "今天上了体重秤，终于破百了", "飞盘局还缺人吗",
    ],
    "study": [
        "今天背了{n}个单词，打卡", "有没有人一起刷{subject}真题？", "考研倒计时{n}天，大家加油",
        "这道题的答案是不是有问题？", "求{day}的直播回放链接", "申论这周的作业交了吗",
        "早上6点起来背书，坚持第{n}天", "有没有二手的{item}？", "分享一下我的错题本整理方法",
        "{subject}老师讲的第三章我没听懂，谁能讲讲", "公考报名{day}截止，别忘了",
        "准考证打印入口开放了", "图书馆座位好难抢", "今天模考{n}分，比上次高了", "大家一般几点睡？",
        "有人一起组队背单词吗", "真题卷哪个版本好", "今晚八点答疑，{name}主讲",
        "学习群禁止发广告，感谢配合", "这个知识点在第{n}页", "终于把线代过了一遍",
        "四六级成绩出来了，过了！", "谢谢学姐分享的资料", "网课听完容易忘，怎么办",
        "周末自习室开到晚上10点", "刷题刷到头疼", "作文模板别背太死", "我也是二战，一起加油",
        "有没有人做兼职家教的？想了解一下行情", "考场在{place}，提前去踩点",
    ],
    "tech": [
        "{tech}这个版本升级后编译报错了，有人遇到吗", "把日志贴一下看看", "重启一下服务试试",
        "文档在 https://docs.example.org/guide ，第{n}节有写", "PR 已经提了，帮忙 review 一下",
        "线上{tech}连接数打满了，在排查", "用 docker compose up -d 就能起来", "这个 bug 是 race condition",
        "周{n}晚上技术分享，主题是{tech}性能优化", "内存泄漏定位到了，是缓存没有过期",
        "招聘：我们组招后端，{tech}方向，{city}，有意私聊", "git rebase 之后冲突太多了",
        "CI 又挂了，是测试不稳定", "这个库的许可证是 MIT，可以商用", "我写了篇博客总结 {tech} 的坑",
        "端口{order}被占用了", "k8s 的 pod 一直 CrashLoopBackOff", "把超时改成30秒就好了",
        "有人用过 {tech} 做消息队列吗", "会议链接发群里了，{time}开始", "版本号是 1.{n}.0",
        "代码仓库地址：github.com/example/project", "服务器{day}凌晨维护", "谢谢大佬，解决了🙏",
        "这个报错 Stack Overflow 上有答案", "新人报到，做{tech}的，请多指教", "升级到 Rust 1.85 就好了",
        "接口返回 502，nginx 配置有问题", "数据库备份脚本每天凌晨3点跑", "单测覆盖率到80%了",
        "兼职接私活的要注意合同", "面试问了{tech}的底层原理", "这台机器的 CPU 一直 100%",
    ],
    "paid": [
        "今天的课程笔记已经上传到知识星球", "{course}第{n}讲{time}直播", "谢谢{name}的分享，干货满满",
        "作业打卡：今天读了{n}页书", "会员到期提醒：请在{day}前续费", "本周的答疑帖已经置顶",
        "{name}的这篇复盘写得真好", "有问题可以在帖子下面留言", "课程回放七天内有效",
        "续费的同学私信助教，享老学员价", "群里请勿发外部链接和广告", "读书会{day}晚上8点，腾讯会议",
        "这次线下活动在{city}，{n}个名额", "感谢大家的支持，下期见", "我把思维导图整理好了",
        "助教：作业截止时间是{day}晚上12点", "今天的主题是如何做时间管理", "学员福利：电子书免费领取，见公告",
        "讲得太好了，收获很多", "有没有同学一起组队做项目", "课程表已更新，请查看群公告",
        "付费内容请勿外传，谢谢", "我是新加入的，请多关照", "打卡第{n}天，坚持就是胜利",
    ],
    "community": [
        "小区{day}停水，{time}到下午5点", "物业通知：电梯{day}维护", "有人在{place}捡到一串钥匙",
        "谁家的快递放错到我家门口了", "团购的水果到了，{place}自提", "楼上装修太吵了",
        "周末社区有义诊，在{place}", "我家猫丢了，橘色的，看到请联系", "垃圾分类新规定{day}开始",
        "小区群不要发广告，发现就踢", "明天{time}业主大会", "停车位出租，有需要的私聊我",
        "今天菜市场的草莓{price}一斤，很甜", "有没有人拼车去机场", "谢谢邻居帮忙收快递",
        "物业费可以用微信支付吗", "电动车不要在楼道充电", "晚上谁家狗一直叫", "社区食堂今天有饺子",
        "{name}，你订的菜到了", "儿童乐园的滑梯坏了，已报修", "谁知道附近哪里修手机",
    ],
}

HAM_EN = [
    "Hi all, the meetup is on {eday} at 7pm, see the pinned message", "Thanks {ename}, that fixed it",
    "Does anyone know why {etech} keeps timing out?", "Welcome to the group! Please read the rules first",
    "I pushed a fix, can someone review?", "Good morning everyone", "lol same here",
    "Who is coming on {eday}?", "The slides from last week are in the shared folder",
    "Can we move the call to {eday}?", "Great talk, thanks for sharing", "+1, works for me",
    "Reminder: no ads or self-promotion in this group", "Has anyone tried the new release of {etech}?",
    "The docs are at https://docs.example.org, check the FAQ", "I'm new here, hi from Berlin",
    "Sorry for the late reply, was travelling", "My order #{order} hasn't arrived yet",
    "Please keep discussions on topic", "Happy new year everyone!", "{ename}, can you share the link to the repo?",
    "I get a 404 on that page", "Thanks for the quick answer", "The bot is down again",
    "Is the event free or do we need tickets?", "We need two more volunteers for {eday}",
    "Just restart the container", "The build passes on my machine", "See you all {eday}",
    "Any recommendations for a good {etech} book?", "Check the logs first, then open an issue",
    "How much is the membership this year?", "The fee is 20 euros, pay at the door",
    "Congrats on the launch!", "Where is the venue exactly?", "I'll bring snacks",
    "Does anyone have a spare HDMI cable?", "Free coffee at the meetup, thanks to our sponsor",
    "What time zone is the call in?", "We hit 1000 members today, thank you all",
    "I'm selling my old bike, DM if interested", "Can an admin pin this?", "My phone number changed, update the list",
    "Price went up to $12 last month", "Join us on {eday} for the workshop",
    "This is not spam, it's the official announcement", "I made 3 commits today",
]


HAM_MORE = {
    "parents": [
        "老师，请问明天需要带午睡被子吗", "这周的阅读打卡记得在小程序上传", "家长们，{kid}今天在学校摔了一下，已经处理好了，放心",
        "{kid}奶奶来接，麻烦老师跟孩子说一下", "谁有{subject}书第{n}页的照片，孩子把书落学校了", "麻烦问下校车几点到{place}",
        "今天的口算本签字了吗", "周五是开放日，家长可以进班听课", "学校食堂下周菜单发群里了", "请家长督促孩子每天跳绳{n}分钟",
        "期末考试时间：{day}到下周三", "注意防溺水安全教育，请签字回执", "家委会统计：{day}亲子活动参加的请接龙",
        "不好意思，刚才发错群了", "孩子这几天咳嗽，要不要戴口罩去学校", "谁家孩子报了{subject}培优班，感觉怎么样",
        "班费明细已公示，有疑问可以私聊家委", "老师，{kid}的作业已经补交了", "今天作业：背诵课文第{n}课，{subject}练习册一页",
        "请家长关注孩子用眼卫生", "有家长问校服在哪里买，学校统一订的，{price}一套", "我家孩子说明天要带{item}，是真的吗",
        "没有的，不用带", "春节前最后一天上课是{day}", "放假通知已发，请查收", "谢谢各位家长配合👏",
        "各位家长晚上好，今天孩子们在学校表现都很好", "周四下午家长开放日，欢迎大家来",
    ],
    "shop": [
        "老板，{item}能便宜一点吗，我买三件", "下单了，麻烦尽快发", "这个颜色还有吗", "亲，已经为您备注了",
        "门店今天排队的人好多", "会员日{day}全场九折", "订单{order}已经退款了吗", "上次的{item}很好用，再来两件",
        "请问能不能送货上门，我在{place}", "满{price}包邮", "亲，这款不参加活动哦", "我收到的{item}有点瑕疵",
        "麻烦拍个照片给客服，我们给您处理", "已经提交售后了", "你们{city}有分店吗", "店长推荐的那款卖完了吗",
        "周末店里有新品试吃", "直播间{time}开播，群里的朋友可以来看看", "感谢支持，欢迎再来", "价格是{price}元，含运费",
    ],
    "fitness": [
        "今天游了{n}个来回", "周末{place}有没有人一起爬山", "教练，硬拉腰疼怎么办", "今天早起跑步，空气真好",
        "减脂期可以吃水果吗", "打卡：俯卧撑{n}个", "{name}你那个{item}在哪买的", "练完记得补水",
        "羽毛球馆{day}订好了，{time}，{price}一小时", "好久没练了，重新开始", "有人参加{city}马拉松吗",
        "体脂秤准不准啊", "今天练背，感觉很好", "教练{day}休息，课程顺延", "跳操第{n}天，腿不酸了",
    ],
    "study": [
        "有没有人用过番茄钟学习法", "听力太难了，怎么练", "单词书推荐哪本", "这题我算出来是{n}，对吗",
        "今天状态差，只学了两个小时", "明天{time}模考，大家早点睡", "资料放群文件了，自取", "英语作文有人帮忙批改吗",
        "报了{course}，感觉还行", "我也刚开始复习，一起加油", "笔记借我看看呗", "这周目标：刷完{n}套卷子",
        "面试{day}开始，紧张", "祝大家逢考必过🎉", "复试名单出来了", "我的{subject}基础很差，怎么补",
    ],
    "tech": [
        "把环境变量 RUST_LOG=debug 打开看看", "这个接口 QPS 大概多少", "线上回滚了，先止血", "有人对 {tech} 的源码熟吗",
        "测试环境的数据库密码改了，私聊发你", "编译时间太长了，用 sccache 吧", "我们的服务部署在{city}机房",
        "issue #{order} 已经修了", "明天发版，今晚冻结代码", "监控告警太多了，要调一下阈值", "这段代码的复杂度是 O(n log n)",
        "用 curl -v 看一下请求头", "TLS 证书{day}过期，记得续", "已经加到 README 了", "谁有空帮我看看这个死锁",
        "{tech} 官方博客发了新版本说明", "性能测试结果：p99 {n}ms", "日志里全是 connection reset", "推荐一个好用的终端",
    ],
    "paid": [
        "本期嘉宾是{name}，欢迎大家提问", "今天的作业大家都很认真", "优秀作业已经置顶展示", "这周的读书笔记我写完了",
        "助教，回放链接打不开", "已补发，请刷新", "老师讲的这个框架很实用", "有同学在{city}吗，线下约",
        "打卡：今天冥想{n}分钟", "社群规则：禁止广告和拉人", "第{n}期训练营{day}开营", "报名截止前还有{n}个名额",
    ],
    "community": [
        "{place}新开了一家面馆，味道不错", "谁家有梯子借用一下", "小区门禁卡坏了找物业", "今晚停电两小时，提前准备",
        "团购的大米{day}到，{price}一袋", "捡到一个钱包，已交到物业", "楼下的车挡路了，车主在吗", "谢谢大家帮忙找到了猫",
        "物业电话是多少", "快递柜满了", "社区疫苗接种{day}在{place}", "有没有靠谱的家政推荐",
    ],
}
HAM_MORE["short"] = [
    "好的", "谢谢", "谢谢大家", "辛苦了", "群主辛苦了👍", "哈哈哈哈", "同意", "+1", "我也是", "在的", "马上到",
    "我晚点看", "没问题", "明白了", "早上好", "晚安", "新年快乐", "中秋快乐🥮", "恭喜恭喜🎉", "太棒了", "有道理",
    "稍等", "在开会，等会回", "已转", "已付款", "已报名", "我来了", "收到，马上处理", "不客气", "欢迎新朋友",
    "欢迎{name}加入本群", "大家好，我是新来的", "楼上说得对", "这个好", "支持一下", "辛苦{name}", "到了吗", "路上堵车",
    "今天好热", "下雨了记得带伞", "早点休息", "生日快乐！", "真的假的", "我觉得可以", "加油💪", "一起加油",
]
for _k, _v in HAM_MORE.items():
    HAM.setdefault(_k, []).extend(_v)

HAM_EN.extend([
    "Can you send me the invoice for order #{order}?", "The meetup moved to {eday}, same place",
    "I think the issue is in the config file", "Thanks everyone for coming yesterday!", "Who wants to grab lunch?",
    "The Wi-Fi password is on the whiteboard", "Please don't share personal data in the group",
    "I lost my keys near the entrance, has anyone seen them?", "How do I unsubscribe from the newsletter?",
    "The new version of {etech} broke my build", "Let's continue this in a thread", "Ping me if you need help",
    "Is the parking free on weekends?", "Our next game night is {eday}", "Happy birthday {ename}!",
    "I can lend you my book", "The store opens at 9am", "Anyone else getting this error on login?",
    "That's a great idea, let's do it", "I'm running a bit late, save me a seat", "Running late, be there in 10",
    "Start without me, I'll join later", "Morning all, coffee first", "Who's hosting next month?", "I'll check and get back to you",
    "Good point, I hadn't thought of that", "Can you repeat the question?", "Nice photos from the trip!", "Done, thanks for the reminder",
    "I'm out of office until {eday}", "Let me know when you're free", "Agreed, let's ship it", "Back online now",
    "My flight got delayed, so I'll miss the call", "I fixed the typo in the docs", "Anyone going to the conference?",
    "The train was cancelled again", "Please mute your mic during the talk", "I'll take notes today", "Is this seat taken?",
    "Have a good weekend everyone", "Welcome aboard {ename}!", "Where can I find the schedule?", "The kids loved the park",
    "I'll bring my laptop", "Should we order pizza?", "Thank you for organising this", "Quick question about the homework",
    "Which chapter are we reading this week?", "The gym is closed {eday}", "I ran 5k this morning", "Good luck with the exam!",
    "Can I pay by card at the venue?", "The recording is uploaded, link in the pinned message", "Lol that's hilarious",
    "I'm not sure, maybe ask the admin", "Same problem here since the update", "It works now, my bad", "I earned my first certification today!", "Sorry, wrong chat",
])


DECOR_PREFIX = ["", "", "", "", "@{name} ", "@{name} ", "回复{name}：", "哈哈，", "嗯嗯，", "对的，", "请问，"]
DECOR_SUFFIX = ["", "", "", "", "{emoji}", "{emoji}{emoji}", "～", "。", "！", "哈哈", "吧", "?", "[捂脸]", "[微笑]"]


def make_ham():
    out = []
    for kind, templates in HAM.items():
        for t in templates:
            variants = 6 if "{" in t else 3
            for _ in range(variants):
                line = fill(rng.choice(DECOR_PREFIX)) + fill(t) + fill(rng.choice(DECOR_SUFFIX))
                out.append(line)
    for t in HAM_EN:
        for _ in range(4 if "{" in t else 2):
            line = fill(t)
            if rng.random() < 0.3:
                line = line + " " + rng.choice(SLOTS["emoji"])
            out.append(line)
    # two-line ham (notices) joined with \n
    for _ in range(200):
        a = fill(rng.choice(HAM["parents"] + HAM["paid"] + HAM["community"]))
        b = fill(rng.choice(HAM["parents"] + HAM["paid"] + HAM["community"]))
        out.append(a + "\\n" + b)
    return out


# ---------------------------------------------------------------------------------------------
# Spam: ads in the styles that plague Chinese groups, and evasions
# ---------------------------------------------------------------------------------------------
SPAM_SLOTS = dict(SLOTS)
SPAM_SLOTS.update({
    "wx": ["加微信", "加V", "加v信", "加薇信", "+V", "➕V", "加VX", "加wx", "加威信", "加微", "加卫星", "加V❤",
           "联系微信", "扣扣", "加QQ", "私聊", "加我", "加绿色软件", "加🛰️", "V我", "加徽信", "+vx"],
    "id": ["abc8866", "vx520888", "lisa_1688", "money668", "ww88990", "tg_earn99", "a13800138000",
           "hj6677", "kk12345678", "dd_9527", "qq2846371", "yy18899", "money_fast_8", "zs88888"],
    "qq": ["2846371", "93811234", "1688995", "77889900", "3456789012"],
    "money": ["300", "500", "800", "1000", "2000", "3000", "5000", "200", "150", "888"],
    "pct": ["30%", "50%", "80%", "5倍", "10倍", "3倍"],
    "site": ["www.xx88.cc", "bit.ly/3xYz9k", "t.cn/A6xk2", "http://hb88.vip/r?c=9", "t.me/earn_fast",
             "https://dwz.cn/q8Kf", "www.8899bet.com", "http://lucky777.top", "yx66.xyz/go", "v.qq.kz/9x"],
    "coin": ["BTC", "ETH", "USDT", "SOL", "DOGE", "PEPE", "新币"],
    "brand": ["LV", "香奈儿", "迪奥", "古驰", "雅诗兰黛", "SK-II", "兰蔻", "AJ", "劳力士", "茅台"],
    "loan": ["5万", "10万", "20万", "50万", "3000到5万", "1万到30万"],
})

SPAM_TEMPLATES = {
    "wechat": [
        "{wx}：{id}，有惊喜", "想赚钱的{wx}{id}", "{wx}{id} 免费领取资料", "需要的{wx} {id}，备注来意",
        "招人，{wx}{id}详聊", "{wx}{id}，拉你进福利群", "有意者{wx}：{id}", "私我或者{wx}{id}",
        "美女陪聊，{wx}{id}", "同城交友{wx}{id}，寂寞的来", "{wx}{id}送你一份赚钱秘籍",
        "看我头像{wx}", "详情{wx}，号码在头像", "有需要的朋友{wx}{id}，24小时在线",
    ],
    "parttime": [
        "兼职刷单，日赚{money}，{wx}{id}", "招聘打字员，在家就能做，日结{money}元，{wx}{id}",
        "宝妈学生党兼职，一部手机就能做，日入{money}+，{wx}{id}", "手机点赞兼职，一单一结，{wx}{id}",
        "招兼职，时间自由，日结工资{money}，有意私聊", "抖音点赞员，一个赞3元，日赚{money}，{wx}{id}",
        "淘宝刷单，本金秒返，佣金{pct}，{wx}{id}", "在家躺赚，每天两小时，月入过万，{wx}{id}",
        "急招网络兼职，无需经验，当天结算，{wx}{id}", "招录入员，日结{money}，名额有限，速{wx}",
        "兼职日结{money}，不收任何费用，{wx}{id}", "空闲时间赚零花钱，手机操作，{wx}{id}",
    ],
    "pdd": [
        "帮我砍一刀吧，谢谢 {site}", "拼多多助力，帮忙点一下，感谢🙏 {site}", "就差一点了，帮我砍一下！{site}",
        "某多多现金提现，帮我助力一下{site}", "亲，帮忙点一下免费拿{item}", "拼夕夕砍价，差0.01元，帮帮忙",
        "帮我点一下，我也帮你点 {site}", "助力领现金{money}元，点链接 {site}",
    ],
    "daigou": [
        "{brand}专柜正品代购，价格是专柜{pct}，{wx}{id}", "海外代购{brand}，支持验货，{wx}{id}",
        "高仿{brand}，一比一原单，{wx}{id}", "{brand}包包清仓，一件代发，{wx}{id}",
        "免税店{brand}代购，假一赔十，{wx}{id}", "招代购代理，货源一手，{wx}{id}",
    ],
    "rebate": [
        "淘宝京东隐藏优惠券，领券省{pct}，{wx}{id}", "购物返利{pct}，拉你进内部群，{wx}{id}",
        "内部优惠券群，每天更新，{wx}{id}", "返利网注册送{money}元，{site}", "自用省钱分享赚，招团长，{wx}{id}",
    ],
    "netearn": [
        "网赚项目，零投资，日赚{money}，{wx}{id}", "跟着老师做，一个月赚{money}00，{wx}{id}",
        "副业项目，小白也能月入过万，{wx}{id}", "免费教你网上赚钱，{wx}{id}", "躺赚项目，{site}",
        "我用这个方法一个月赚了{money}00，想学的{wx}", "朋友圈赚钱秘诀，免费分享，{wx}{id}",
        "0门槛副业，每天{money}，{site}",
    ],
    "gamble": [
        "澳门新葡京线上开业，首充送{money}，{site}", "百家乐稳赢技巧，{wx}{id}", "彩票导师带你上岸，{wx}{id}",
        "时时彩计划群，胜率{pct}，{wx}{id}", "真人娱乐，注册送{money}元彩金，{site}",
        "棋牌游戏，充值{money}送{money}，{wx}{id}", "足球推单，稳赚不赔，{wx}{id}", "线上赌场，提款秒到，{site}",
        "老虎机爆大奖，{site}", "体育博彩，返水{pct}，{wx}{id}",
    ],
    "loan": [
        "无抵押贷款，{loan}当天到账，{wx}{id}", "急用钱找我，黑户也能下款，{wx}{id}",
        "信用卡代还，套现秒到，{wx}{id}", "网贷逾期处理，征信修复，{wx}{id}", "小额贷款，不看征信，{loan}，{wx}{id}",
        "身份证就能贷，{loan}秒批，{site}",
    ],
    "agent": [
        "招代理，零库存一件代发，月入{money}00，{wx}{id}", "招募合伙人，轻松创业，{wx}{id}",
        "微商招代理，{brand}面膜，{wx}{id}", "诚招各地代理，高佣金，{wx}{id}", "宝妈创业项目，招代理，{wx}{id}",
    ],
    "giveaway": [
        "恭喜你获得{item}一份，点击领取 {site}", "群友福利：免费送{item}，{wx}{id}领取",
        "转发本条到三个群，领{money}元红包", "抽奖送iPhone 15，点链接参与 {site}", "周年庆免费领{money}元话费，{site}",
        "官方活动：免费领取{item}，仅限今天，{site}", "您的账户获得{money}元奖励，请尽快领取 {site}",
    ],
    "crypto": [
        "{coin}暴涨在即，带单老师胜率{pct}，{wx}{id}", "{coin}空投，免费领，{site}", "合约带单，翻{pct}，{wx}{id}",
        "币圈内幕消息，下一个百倍币，{wx}{id}", "数字货币稳赚项目，{site}", "USDT搬砖套利，日收益{pct}，{wx}{id}",
        "新币上线，早买早赚，{site}",
    ],
    "porn": [
        "寂寞了吗，同城约，{wx}{id}", "看片资源，{site}", "美女一对一视频，{wx}{id}", "私密直播，{site}",
    ],
}

SPAM_EN = [
    "Earn ${money} a day from home, DM me", "I made ${money} this week trading {coin}, ask me how",
    "Join my channel for free signals {site}", "Investment opportunity, 10x guaranteed, contact @{id}",
    "Looking for people who want to make money online, no experience needed, PM me",
    "Free {coin} airdrop, claim now {site}", "Hot singles in your area {site}", "Get rich quick, message me",
    "Work from home, $500 per day, write to @{id}", "Crypto pump starting now, buy before it's too late {site}",
    "Need a loan? Instant approval, no credit check, DM", "I help people recover lost crypto, contact @{id}",
    "Passive income: ${money} weekly, only 5 spots left", "Click here to claim your prize {site}",
    "Best casino bonus 200% on first deposit {site}", "Forex mentor with 98% win rate, DM me",
    "Anyone want to earn extra income? Message me privately", "Cheap followers and likes, {site}",
    "Remote job, 2 hours a day, $300 daily, interested? Write me", "Send 0.1 ETH and get 1 ETH back {site}",
]


SPAM_MORE = {
    "wechat": [
        "有需要的朋友可以私我，看我朋友圈", "进群领福利，{wx}{id}", "不看后悔，{wx}{id}", "朋友圈有惊喜，{wx}{id}",
        "{wx}{id}，前{n}名送{money}元红包", "想了解的扫我头像二维码", "加我好友，带你了解一个项目",
    ],
    "parttime": [
        "招聘小时工，日结{money}元，{city}可做，{wx}{id}", "线上客服兼职，无需坐班，{wx}{id}",
        "招聘宝妈，在家带娃也能赚，日入{money}，{wx}{id}", "学生暑假工，一天{money}，包吃住，{wx}{id}",
        "小说录入员，按字数结算，{wx}{id}", "游戏陪玩，日赚{money}，{wx}{id}",
    ],
    "netearn": [
        "揭秘月入十万的赚钱方法，{site}", "每天看视频就能赚钱，{site}", "注册就送{money}元，可提现，{site}",
        "我的学员已经有人月入{money}00了，{wx}{id}", "下载APP签到领现金，{site}",
    ],
    "gamble": [
        "{city}棋牌室开业，线上也能玩，{wx}{id}", "世界杯竞猜，赔率最高，{site}", "六合彩内部资料，{wx}{id}",
        "电子游艺首存送{pct}，{site}",
    ],
    "loan": [
        "征信花了也能下款，{loan}，{wx}{id}", "大额信用卡代办，{wx}{id}", "车贷房贷秒批，{wx}{id}",
    ],
    "scam": [
        "您的快递丢失，请添加客服{wx}{id}办理理赔", "您的账户存在异常，请点击 {site} 验证", "ETC认证失效，请登录 {site} 重新认证",
        "我是你们老师，请把班费转到这个账号", "医保卡余额可提现，{site}", "恭喜中奖，请先缴纳手续费{money}元",
        "公安局通知：你涉嫌洗钱，请联系{wx}{id}", "刷流水解冻资金，{wx}{id}", "冒充客服：退款请加{wx}{id}",
    ],
    "sales": [
        "专业代写论文，包过，{wx}{id}", "代考驾照科目一，{wx}{id}", "出售各类账号，{wx}{id}", "办证刻章，{wx}{id}",
        "低价出售流量卡，{money}G只要{price}元，{wx}{id}", "批发烟酒，{brand}，{wx}{id}", "减肥神药，一个月瘦{n}0斤，{wx}{id}",
        "祖传秘方，包治百病，{wx}{id}", "粉丝点赞代刷，{site}",
    ],
}
for _k, _v in SPAM_MORE.items():
    SPAM_TEMPLATES.setdefault(_k, []).extend(_v)

SPAM_EN.extend([
    "Make money fast with this one trick {site}", "I am a trader, I can double your money in 24 hours",
    "Urgent: your account has been suspended, verify at {site}", "Buy cheap Instagram followers {site}",
    "Congratulations! You won an iPhone, claim {site}", "Want to earn from your phone? DM me for details",
    "Hey dear, I have a business proposal for you, add me on WhatsApp",
    "Binance giveaway: send {coin} and receive double {site}", "Online casino free spins {site}",
    "Legit hacker for hire, contact @{id}",
])

def load_spamassassin():
    ham, spam = [], []
    path = os.path.join(HERE, "spamassassin_subjects.tsv")
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or "\t" not in line:
                continue
            label, text = line.rstrip("\n").split("\t", 1)
            (spam if label == "spam" else ham).append(text)
    return ham, spam


# --- evasions ---------------------------------------------------------------------------------
S2T = dict(zip(
    "兼职刷单赚钱微信联系领取优惠详聊资料进群费结无经验试贷款现证宝妈学党点赞时间门槛项目币带数字货稳赔万这个专柜个网站种开业单码来员额块账户备注机发红奖话礼际纯内爆码头像",
    "兼職刷單賺錢微信聯繫領取優惠詳聊資料進群費結無經驗試貸款現證寶媽學黨點讚時間門檻項目幣帶數字貨穩賠萬這個專櫃個網站種開業單碼來員額塊賬戶備註機發紅獎話禮際純內爆碼頭像",
))
FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
CN_DIGITS = [dict(zip("0123456789", "零一二三四五六七八九")), dict(zip("0123456789", "零壹贰叁肆伍陆柒捌玖")),
             dict(zip("0123456789", "〇①②③④⑤⑥⑦⑧⑨")), dict(zip("0123456789", "⓪➀➁➂➃➄➅➆➇➈"))]
HOMOPHONE = [("微信", "薇信"), ("微信", "威信"), ("微信", "V信"), ("微信", "wei信"), ("微信", "weixin"),
             ("微信", "VX"), ("微信", "徽信"), ("微信", "卫星"), ("兼职", "兼z"), ("兼职", "jianzhi"),
             ("赚", "zhuan"), ("刷单", "刷dan"), ("日赚", "日zhuan"), ("加", "+"), ("加", "➕"), ("加", "嘉"),
             ("代理", "dai理"), ("贷款", "dai款"), ("赌", "du"), ("博彩", "bo彩"), ("钱", "q"),
             ("QQ", "扣扣"), ("QQ", "寇寇"), ("彩金", "菜金"), ("返利", "反利")]
SEPARATORS = [" ", "  ", "-", ".", "/", "|", "*", "~", "、", "丶", "💰", "✨", "🌹", "🔥", "💋", "❤", "🎁", "_", "·"]
SPAM_DECOR = ["", "", "", "🔥🔥", "💰💰💰", "【福利】", "【急招】", "❗❗", "👉", "✅", "【官方】", "🧧", "‼️", "[红包]"]


def evade(text):
    choices = rng.sample(["full", "trad", "sep", "num", "homo", "homo", "none", "none"], k=rng.choice([1, 1, 2, 3]))
    for c in choices:
        if c == "homo":
            for a, b in rng.sample(HOMOPHONE, len(HOMOPHONE)):
                if a in text:
                    text = text.replace(a, b, 1)
                    break
        elif c == "trad":
            text = "".join(S2T.get(ch, ch) for ch in text)
        elif c == "full":
            text = "".join(FULLWIDTH.get(ch, ch) if rng.random() < 0.8 else ch for ch in text)
        elif c == "num":
            table = rng.choice(CN_DIGITS)
            text = "".join(table.get(ch, ch) for ch in text)
        elif c == "sep":
            sep = rng.choice(SEPARATORS)
            # separators between characters of a short stretch (or the whole message)
            if rng.random() < 0.5 or len(text) < 12:
                text = sep.join(text)
            else:
                i = rng.randrange(0, len(text) - 6)
                text = text[:i] + sep.join(text[i:i + 8]) + text[i + 8:]
    return text


def make_spam():
    out = []
    for kind, templates in SPAM_TEMPLATES.items():
        for t in templates:
            for _ in range(11):
                line = fill(t, SPAM_SLOTS)
                if rng.random() < 0.75:
                    line = evade(line)
                line = rng.choice(SPAM_DECOR) + line
                if rng.random() < 0.12:
                    # a long multi-line ad: add a second line
                    line = line + "\\n" + fill(rng.choice(rng.choice(list(SPAM_TEMPLATES.values()))), SPAM_SLOTS)
                out.append(line)
    for t in SPAM_EN:
        for _ in range(5):
            line = fill(t, SPAM_SLOTS)
            if rng.random() < 0.3:
                line = rng.choice(["🔥 ", "💰💰 ", "✅ ", "🚀 "]) + line
            if rng.random() < 0.2:
                line = "".join(FULLWIDTH.get(ch, ch) for ch in line)
            out.append(line)
    return out


def dedup(lines):
    seen = set()
    out = []
    for line in lines:
        line = line.replace("\n", "\\n").strip()
        if line and line not in seen:
            seen.add(line)
            out.append(line)
    return out


def main():
    sa_ham, sa_spam = load_spamassassin()
    ham = dedup(make_ham() + sa_ham)
    spam = dedup(make_spam() + sa_spam)
    spam_set = set(spam)
    ham = [h for h in ham if h not in spam_set]
    with open(os.path.join(HERE, "ham.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(ham) + "\n")
    with open(os.path.join(HERE, "spam.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(spam) + "\n")
    print(f"ham: {len(ham)} lines, spam: {len(spam)} lines")


if __name__ == "__main__":
    main()
